/*
 * notify.c - failure logging, counting and the on_failure command.
 */
#include "autoconfig.h"

#include <errno.h>
#include <ev.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "log.h"
#include "notify.h"
#include "util.h"

extern char **environ;

struct notify_child {
	struct hk_notify *n;
	ev_child child;
	ev_timer timeout;
	pid_t pid;
	bool used;
};

struct notify_seen {
	enum hk_failure cls;
	char reg_id[HK_UUID_LEN + 1];
	int64_t last_ns;
};

struct hk_notify {
	struct ev_loop *loop;
	char *const *argv;
	uint64_t counts[HK_FAIL__COUNT];
	struct notify_seen *seen;
	size_t n_seen;
	struct notify_child children[HK_NOTIFY_MAX_CHILDREN];
	hk_notify_namer_fn namer;
	void *namer_arg;
};

const char *hk_failure_name(enum hk_failure cls)
{
	switch (cls) {
	case HK_FAIL_DELETE: return "delete";
	case HK_FAIL_JOB: return "job";
	case HK_FAIL_TIMEOUT: return "timeout";
	case HK_FAIL_WATCH: return "watch-limit";
	case HK_FAIL_AUDIT: return "audit";
	case HK_FAIL_CLOCK: return "clock";
	case HK_FAIL__COUNT: break;
	}
	return "unknown";
}

struct hk_notify *hk_notify_create(struct ev_loop *loop)
{
	struct hk_notify *n = hk_xcalloc(1, sizeof(*n));
	n->loop = loop;
	return n;
}

void hk_notify_set_command(struct hk_notify *n, char *const *argv)
{
	n->argv = argv && argv[0] ? argv : NULL;
}

static void notify_child_done(struct notify_child *c)
{
	ev_child_stop(c->n->loop, &c->child);
	ev_timer_stop(c->n->loop, &c->timeout);
	c->used = false;
}

static void notify_child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct notify_child *c = w->data;
	if (WIFEXITED(w->rstatus) && WEXITSTATUS(w->rstatus) != 0)
		log_warnx("notify", "on_failure command exited with status %d",
			  WEXITSTATUS(w->rstatus));
	else if (WIFSIGNALED(w->rstatus))
		log_warnx("notify", "on_failure command killed by signal %d", WTERMSIG(w->rstatus));
	notify_child_done(c);
}

static void notify_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct notify_child *c = w->data;
	log_warnx("notify", "on_failure command (pid %ld) still running after %.0fs: killed",
		  (long)c->pid, HK_NOTIFY_TIMEOUT);
	kill(c->pid, SIGKILL);
}

/* "NAME=value" with value escaped like a log line: the message names
 * files and registrations of users, and a command that passes it on
 * (logger "$HK_ERROR_MESSAGE", a mail subject) must get one line. */
static char *notify_env(const char *name_eq, const char *value)
{
	struct hk_buf b = { 0 };
	hk_buf_append(&b, name_eq, strlen(name_eq));
	hk_buf_append_escaped(&b, value, strlen(value));
	return b.data;
}

static void notify_spawn(struct hk_notify *n, enum hk_failure cls, const char *reg_id,
			 const char *reg_name, uint64_t job_id, const char *message)
{
	struct notify_child *c = NULL;
	for (size_t i = 0; i < HK_NOTIFY_MAX_CHILDREN && !c; i++)
		if (!n->children[i].used)
			c = &n->children[i];
	if (!c) {
		log_warnx("notify", "%d on_failure commands still running: not starting another",
			  HK_NOTIFY_MAX_CHILDREN);
		return;
	}
	size_t n_env = 0;
	while (environ && environ[n_env])
		n_env++;
	char **envp = hk_xcalloc(n_env + 6, sizeof(*envp));
	size_t k = 0;
	for (size_t i = 0; i < n_env; i++)
		if (strncmp(environ[i], "HK_", 3) != 0 && strncmp(environ[i], "NOTIFY_SOCKET=", 14) != 0)
			envp[k++] = environ[i];
	char *own[5] = {
		hk_xasprintf("HK_FAILURE_CLASS=%s", hk_failure_name(cls)),
		notify_env("HK_REGISTRATION_ID=", reg_id ? reg_id : ""),
		notify_env("HK_REGISTRATION_NAME=", reg_name ? reg_name : ""),
		hk_xasprintf("HK_JOB_ID=%llu", (unsigned long long)job_id),
		notify_env("HK_ERROR_MESSAGE=", message),
	};
	for (size_t i = 0; i < HK_ARRAY_SIZE(own); i++)
		envp[k++] = own[i];
	envp[k] = NULL;
	pid_t pid;
	int r = posix_spawn(&pid, n->argv[0], NULL, NULL, n->argv, envp);
	for (size_t i = 0; i < HK_ARRAY_SIZE(own); i++)
		free(own[i]);
	free(envp);
	if (r != 0) {
		log_errx("notify", "%s: cannot run the on_failure command: %s", n->argv[0],
			 strerror(r));
		return;
	}
	c->n = n;
	c->pid = pid;
	c->used = true;
	ev_child_init(&c->child, notify_child_cb, pid, 0);
	c->child.data = c;
	ev_child_start(n->loop, &c->child);
	ev_timer_init(&c->timeout, notify_timeout_cb, HK_NOTIFY_TIMEOUT, 0.);
	c->timeout.data = c;
	ev_timer_start(n->loop, &c->timeout);
}

/* Has (cls, reg_id) been reported within HK_NOTIFY_INTERVAL? Records now. */
static bool notify_recent(struct hk_notify *n, enum hk_failure cls, const char *reg_id)
{
	int64_t now = hk_time_mono_ns();
	const char *key = reg_id ? reg_id : "";
	for (size_t i = 0; i < n->n_seen; i++) {
		struct notify_seen *s = &n->seen[i];
		if (s->cls == cls && strcmp(s->reg_id, key) == 0) {
			if (now - s->last_ns < (int64_t)(HK_NOTIFY_INTERVAL * 1e9))
				return true;
			s->last_ns = now;
			return false;
		}
	}
	n->seen = hk_xreallocarray(n->seen, n->n_seen + 1, sizeof(*n->seen));
	struct notify_seen *s = &n->seen[n->n_seen++];
	s->cls = cls;
	snprintf(s->reg_id, sizeof(s->reg_id), "%s", key);
	s->last_ns = now;
	return false;
}

void hk_notify_failure(struct hk_notify *n, enum hk_failure cls, const char *reg_id,
		       uint64_t job_id, const char *message)
{
	n->counts[cls]++;
	if (notify_recent(n, cls, reg_id))
		return;
	/* log lines name a registration by its name (the id when unknown) */
	const char *name = reg_id && n->namer ? n->namer(n->namer_arg, reg_id) : NULL;
	log_errx("notify", "%s failure%s%s: %s", hk_failure_name(cls), reg_id ? " in " : "",
		 name ? name : reg_id ? reg_id : "", message);
	if (n->argv && n->loop)
		notify_spawn(n, cls, reg_id, name, job_id, message);
}

void hk_notify_set_namer(struct hk_notify *n, hk_notify_namer_fn fn, void *arg)
{
	n->namer = fn;
	n->namer_arg = arg;
}

uint64_t hk_notify_count(const struct hk_notify *n, enum hk_failure cls)
{
	return n->counts[cls];
}

void hk_notify_free(struct hk_notify *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < HK_NOTIFY_MAX_CHILDREN; i++) {
		struct notify_child *c = &n->children[i];
		if (c->used) {
			kill(c->pid, SIGTERM);
			notify_child_done(c);
		}
	}
	free(n->seen);
	free(n);
}
