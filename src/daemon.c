/*
 * daemon.c - the long-running housekeeperd: event loop, signals as loop
 * events, reload with all-or-nothing apply, sd_notify, grouped store
 * commits, the metrics textfile; hk_daemon_main picks the mode (-t, -T,
 * --once in daemon_once.c, the daemon). The command line and the
 * configuration load are daemon_args.c's.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stddef.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "config.h"
#include "daemon.h"
#include "daemon_int.h"
#include "engine.h"
#include "log.h"
#include "loopstat.h"
#include "ctl.h"
#include "lint.h"
#include "notify.h"
#include "report.h"
#include "sched.h"
#include "service.h"
#include "state.h"
#include "units.h"
#include "util.h"

/* sd_notify: a datagram to $NOTIFY_SOCKET, when set (abstract or path). */
static void daemon_notify(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	if (!path || (path[0] != '/' && path[0] != '@') || strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = strlen(path);
	memcpy(sa.sun_path, path, len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	ssize_t r = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa,
			   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
	(void)r;
	close(fd);
}

struct daemon_state {
	struct ev_loop *loop;
	const struct daemon_opts *opts;
	struct hk_config *cfg;
	struct hk_engine *engine;
	struct hk_sched *sched;
	struct hk_store *store;
	struct hk_service *service;
	struct hk_ctl *ctl;
	ev_signal sighup, sigterm, sigint, sigusr1;
	ev_prepare flush;          /* commits the store's queued writes, grouped */
	ev_timer flush_timer;      /* ... at most DAEMON_FLUSH_INTERVAL later */
	ev_timer trim_timer;       /* gives memory back once a burst of commits is over */
	int64_t last_flush_ns;
	ev_idle prune;             /* history retention, in slices */
	struct hk_notify *notify;
	struct hk_report event_rep;    /* event-path deletions since the last summary */
	size_t event_rep_seen;         /* event_rep.n_files when last looked at */
	ev_timer event_timer;          /* writes the event summary report */
	ev_timer metrics_timer;        /* rewrites the metrics textfile under load */
	uint64_t event_summaries;
	struct daemon_summary summary;
	ev_timer watchdog;             /* WATCHDOG=1 when systemd asks for it */
	struct hk_loopstat *loopstat;  /* busy time per loop iteration, for the metrics */
};

#define DAEMON_EVENT_REPORT_INTERVAL 600.0   /* seconds between event summaries */
#define DAEMON_EVENT_REPORT_MAX 10000        /* files per summary, written early when full */
#define DAEMON_METRICS_INTERVAL 5.0          /* textfile rewrites under load, at most */
#define DAEMON_FLUSH_INTERVAL 0.05           /* seconds between store commits under load */
#define DAEMON_FLUSH_BATCH 65536             /* queued writes that commit at once */
#define DAEMON_FLUSH_INTERVAL_SCANNING 1.0   /* ... while a registration is scanning */
#define DAEMON_TRIM_DELAY 0.2                /* seconds without a large commit: burst over */
#define DAEMON_MMAP_THRESHOLD (128 * 1024)   /* malloc blocks this large are mapped */

static void daemon_write_metrics(struct daemon_state *st)
{
	const char *path = st->cfg->daemon.metrics_textfile;
	if (!path || !*path || !st->service)
		return;
	char *text = hk_service_metrics(st->service);
	int r = hk_write_atomic(path, text, strlen(text), 0644);
	if (r < 0)
		log_errx("metrics", "%s: cannot write: %s", path, hk_strerror(r));
	free(text);
}

static void daemon_metrics_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	daemon_write_metrics(w->data);
}

/* Something changed: the textfile follows within DAEMON_METRICS_INTERVAL. */
static void daemon_metrics_dirty(struct daemon_state *st)
{
	if (st->cfg->daemon.metrics_textfile && *st->cfg->daemon.metrics_textfile &&
	    !ev_is_active(&st->metrics_timer)) {
		ev_timer_set(&st->metrics_timer, DAEMON_METRICS_INTERVAL, 0.);
		ev_timer_start(st->loop, &st->metrics_timer);
	}
}

/* Event-path deletions are summarised into one report per interval
 * rather than one file per event. Under a flood a summary lists
 * DAEMON_EVENT_REPORT_MAX files; encoding and syncing it on the loop's
 * thread stalled enforcement (10 ms on tmpfs, longer on a busy disk), so
 * the summary is handed over to a thread of its own, one at a time. */
static void daemon_write_event_report(struct daemon_state *st)
{
	struct hk_report *rep = &st->event_rep;
	if (rep->n_files == 0)
		return;
	st->event_summaries++;
	st->event_rep_seen = 0;
	if (!st->cfg->scheduler.housekeeper_report_enabled) {
		hk_report_clear(rep);
		return;
	}
	daemon_summary_start(&st->summary, st->cfg, rep);
}

static void daemon_event_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	daemon_write_event_report(w->data);
}

#define DAEMON_PRUNE_SLICE 512

/* One write transaction for what the loop queued (index changes, audit
 * completions, jobs); say so once when it starts or stops failing. */
static void daemon_store_commit(struct daemon_state *st)
{
	bool was_healthy = hk_store_healthy(st->store);
	st->last_flush_ns = hk_time_mono_ns();
	int r = hk_store_flush(st->store);
	if (r < 0 && was_healthy) {
		const char *text = NULL;
		hk_store_last_error(st->store, &text);
		log_errx("store", "%s: cannot commit the state store: %s",
			 st->cfg->daemon.state_directory, text ? text : hk_strerror(r));
	} else if (r == 0 && !was_healthy) {
		log_notice("store", "%s: state store writable again",
			   st->cfg->daemon.state_directory);
	}
}

/* (Re)arm the trim after a large commit: it fires once DAEMON_TRIM_DELAY
 * passes without another, i.e. when a scan's (or a storm's) writes are over.
 * Under a steady load it keeps being pushed back, and the memory it would
 * give back is what the load reuses. */
static void daemon_trim_arm(struct daemon_state *st)
{
	if (!hk_store_trim_due(st->store))
		return;
	ev_timer_stop(st->loop, &st->trim_timer);
	ev_timer_set(&st->trim_timer, DAEMON_TRIM_DELAY, 0.);
	ev_timer_start(st->loop, &st->trim_timer);
}

static void daemon_trim_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct daemon_state *st = w->data;
	if (hk_store_pending(st->store))
		return;   /* their commit arms the trim again */
	if (hk_store_trim(st->store) == 0)
		log_debug("store", "%s: write burst over, its memory given back",
			  st->cfg->daemon.state_directory);
}

static void daemon_flush_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct daemon_state *st = w->data;
	if (st->event_rep.n_files != st->event_rep_seen) {
		if (st->event_rep_seen == 0)
			st->event_rep.started_ns = hk_time_now_ns();
		st->event_rep_seen = st->event_rep.n_files;
		if (st->event_rep.n_files >= DAEMON_EVENT_REPORT_MAX) {
			ev_timer_stop(loop, &st->event_timer);
			daemon_write_event_report(st);
		} else if (!ev_is_active(&st->event_timer)) {
			ev_timer_set(&st->event_timer, DAEMON_EVENT_REPORT_INTERVAL, 0.);
			ev_timer_start(loop, &st->event_timer);
		}
		daemon_metrics_dirty(st);
	}
	size_t pending = hk_store_pending(st->store);
	if (pending == 0) {
		/* a commit outside this path (a control request's flush) */
		if (hk_store_trim_due(st->store) && !ev_is_active(&st->trim_timer))
			daemon_trim_arm(st);
		return;
	}
	/* Index changes and audit completions need no prompt durability (a
	 * crash is repaired by the reconcile and the open intents), so they
	 * are grouped: one commit per DAEMON_FLUSH_INTERVAL under load, and
	 * while a scan fills the index, per DAEMON_FLUSH_INTERVAL_SCANNING or
	 * DAEMON_FLUSH_BATCH writes (each commit syncs: on a disk, a commit
	 * every 50 ms made a cold scan half again as long). */
	double interval = hk_engine_idle(st->engine) ? DAEMON_FLUSH_INTERVAL
						      : DAEMON_FLUSH_INTERVAL_SCANNING;
	double since = (double)(hk_time_mono_ns() - st->last_flush_ns) / 1e9;
	if (since >= interval || pending >= DAEMON_FLUSH_BATCH) {
		ev_timer_stop(loop, &st->flush_timer);
		daemon_store_commit(st);
		daemon_trim_arm(st);
	} else if (!ev_is_active(&st->flush_timer)) {
		ev_timer_set(&st->flush_timer, interval - since, 0.);
		ev_timer_start(loop, &st->flush_timer);
	}
}

static void daemon_flush_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	daemon_store_commit(w->data);
	daemon_trim_arm(w->data);
}

/* Jobs, reports and audit records older than job_history_retention_days. */
static void daemon_prune_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct daemon_state *st = w->data;
	int64_t keep = (int64_t)st->cfg->scheduler.job_history_retention_days * 86400 *
		       HK_NSEC_PER_SEC;
	bool more = false;
	if (hk_store_prune(st->store, hk_time_now_ns() - keep, DAEMON_PRUNE_SLICE, &more) < 0 ||
	    !more) {
		char *dir = hk_report_dir(st->cfg);
		hk_report_prune(dir, hk_time_now_ns() - keep);
		free(dir);
		ev_idle_stop(loop, w);
	}
}

static const char *daemon_reg_name(void *arg, const char *reg_id)
{
	struct daemon_state *st = arg;
	for (size_t i = 0; st->engine && i < hk_engine_count(st->engine); i++) {
		const struct hk_registration *r = hk_engine_registration(st->engine, i);
		if (strcmp(r->id, reg_id) == 0)
			return r->name && *r->name ? r->name : r->directory;
	}
	return NULL;
}

static void daemon_failure_cb(void *arg, enum hk_failure cls, const char *reg_id,
			      const char *message)
{
	struct daemon_state *st = arg;
	hk_notify_failure(st->notify, cls, reg_id, 0, message);
}

/* Every job that ends is recorded, then history is pruned. */
static void daemon_job_hook(const struct hk_job_info *job, const struct hk_report *rep,
			    void *arg)
{
	struct daemon_state *st = arg;
	hk_state_record_job(st->store, job);
	free(daemon_write_report(st->cfg, job, rep));
	if (strcmp(job->outcome, "timeout") == 0)
		hk_notify_failure(st->notify, HK_FAIL_TIMEOUT, job->filter, job->id,
				  "job ran past default_timeout and was stopped");
	else if (strcmp(job->outcome, "failed") == 0)
		hk_notify_failure(st->notify, HK_FAIL_JOB, job->filter, job->id,
				  "job finished with errors");
	daemon_write_metrics(st);
	char status[160];
	snprintf(status, sizeof(status), "STATUS=job %llu (%s): %s, %llu file%s %s",
		 (unsigned long long)job->id, job->trigger, job->outcome,
		 (unsigned long long)job->deleted, job->deleted == 1 ? "" : "s",
		 job->dry_run ? "would be deleted" : "deleted");
	daemon_notify(status);
	if (st->loop && !ev_is_active(&st->prune))
		ev_idle_start(st->loop, &st->prune);
}

/* Load the configuration again and apply it only if it has no error at all
 * (SIGHUP and the control socket's reload). Returns 0 or HK_ECONFIG with
 * errs filled; the running configuration then stays in force. */
static int daemon_reload(void *arg, struct hk_config_errors *errs)
{
	struct daemon_state *st = arg;
	daemon_notify("RELOADING=1");
	struct hk_config *cfg = NULL;
	struct hk_config_paths paths = daemon_config_paths(st->cfg->daemon.state_directory);
	if (hk_config_load(st->opts->config_file, &paths, &cfg, errs) < 0) {
		for (size_t i = 0; i < errs->n; i++)
			log_errx("config", "%s", errs->msgs[i]);
		log_errx("config", "%s: reload refused (%zu error%s); the running configuration "
			 "stays in force", st->opts->config_file, errs->n, errs->n == 1 ? "" : "s");
		daemon_notify("READY=1\nSTATUS=reload refused: configuration has errors");
		return HK_ECONFIG;
	}
	/* what only a restart can change stays as it started */
	const char *kept[8];
	size_t n_kept = hk_config_keep_restart_only(cfg, st->cfg, kept, HK_ARRAY_SIZE(kept));
	for (size_t i = 0; i < n_kept && i < HK_ARRAY_SIZE(kept); i++)
		log_notice("config", "%s: [daemon] %s changed; it takes effect at the next restart",
			   st->opts->config_file, kept[i]);
	hk_service_apply(st->service, cfg);
	hk_notify_set_command(st->notify, cfg->daemon.on_failure_argv);
	hk_config_free(st->cfg);
	st->cfg = cfg;
	daemon_apply_log_level(st->opts, cfg);
	log_info("config", "%s: reloaded, %zu registration%s", st->opts->config_file, cfg->n_regs,
		 cfg->n_regs == 1 ? "" : "s");
	daemon_notify("READY=1\nSTATUS=running");
	return 0;
}

static void daemon_signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct daemon_state *st = w->data;
	switch (w->signum) {
	case SIGHUP: {
		struct hk_config_errors errs = { 0 };
		daemon_reload(st, &errs);
		hk_config_errors_fini(&errs);
		break;
	}
	case SIGTERM:
	case SIGINT:
		log_info("daemon", "signal %d: stopping", w->signum);
		daemon_notify("STOPPING=1");
		ev_break(loop, EVBREAK_ALL);
		break;
	case SIGUSR1:
		log_info("daemon", "%zu registration%s, %s", st->cfg->n_regs,
			 st->cfg->n_regs == 1 ? "" : "s",
			 hk_engine_idle(st->engine) ? "idle" : "scanning");
		break;
	default:
		break;
	}
}

static int daemon_write_pidfile(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		log_err("daemon", "%s: cannot write pid file", path);
		return -1;
	}
	dprintf(fd, "%ld\n", (long)getpid());
	close(fd);
	return 0;
}

static void daemon_watchdog_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	daemon_notify("WATCHDOG=1");
}

/* Under systemd's WatchdogSec=, ping from the loop at half the interval:
 * a stuck loop stops the pings and systemd restarts the daemon. */
static void daemon_start_watchdog(struct daemon_state *st)
{
	const char *usec = getenv("WATCHDOG_USEC");
	const char *pid = getenv("WATCHDOG_PID");
	uint64_t us;
	if (!usec || hk_parse_u64(usec, &us) < 0 || us == 0)
		return;
	if (pid && *pid && strtol(pid, NULL, 10) != (long)getpid())
		return;
	double every = (double)us / 2e6;
	ev_timer_init(&st->watchdog, daemon_watchdog_cb, every, every);
	st->watchdog.data = st;
	ev_timer_start(st->loop, &st->watchdog);
}

/* Raise the soft fd limit: recursive registrations hold one fd per
 * directory. */
static void daemon_raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void daemon_serve_urgent(void *ctl)
{
	hk_ctl_serve_urgent(ctl);
}

/* The control socket: $HOUSEKEEPER_SOCKET, else [daemon] control_socket,
 * else <state dir>/housekeeper.sock when -S was given, else the default
 * under $runstatedir. Mode 0660, group control_group. */
static int daemon_start_ctl(struct daemon_state *st)
{
	const char *path = getenv("HOUSEKEEPER_SOCKET");
	char *owned = NULL;
	if (!path || !*path)
		path = strcmp(st->cfg->daemon.control_socket, HK_RUNSTATEDIR "/housekeeper.sock") != 0
			       ? st->cfg->daemon.control_socket
			       : NULL;
	if (!path && st->opts->state_dir)
		path = owned = hk_xasprintf("%s/housekeeper.sock", st->opts->state_dir);
	if (!path)
		path = st->cfg->daemon.control_socket;
	gid_t gid = (gid_t)-1;
	if (st->cfg->daemon.control_group && *st->cfg->daemon.control_group) {
		struct group *gr = getgrnam(st->cfg->daemon.control_group);
		if (gr)
			gid = gr->gr_gid;
	}
	hk_engine_set_socket(st->engine, path);
	char *cause = NULL;
	int r = hk_ctl_create(st->loop, path, 0660, gid, hk_service_ops(), st->service, &st->ctl,
			      &cause);
	if (r < 0)
		log_errx("ctl", "%s", cause ? cause : hk_strerror(r));
	else   /* status is answered from inside the engine's long work too */
		hk_engine_set_yield(st->engine, hk_ctl_urgent_fd(st->ctl), daemon_serve_urgent,
				    st->ctl);
	free(cause);
	free(owned);
	return r;
}

static int daemon_run(const struct daemon_opts *opts, struct hk_config *cfg)
{
	struct daemon_state st = { .opts = opts, .cfg = cfg };
	int rc = 1;
	if (opts->daemonize && daemon(0, 0) < 0) {
		log_err("daemon", "daemon()");
		goto out;
	}
	if (opts->pidfile && daemon_write_pidfile(opts->pidfile) < 0)
		goto out;
	daemon_raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	st.loop = ev_default_loop(EVFLAG_AUTO | EVFLAG_SIGNALFD);
	if (!st.loop) {
		log_errx("daemon", "cannot create the event loop");
		goto out;
	}
	ev_signal *sigs[] = { &st.sighup, &st.sigterm, &st.sigint, &st.sigusr1 };
	int signums[] = { SIGHUP, SIGTERM, SIGINT, SIGUSR1 };
	for (size_t i = 0; i < HK_ARRAY_SIZE(sigs); i++) {
		ev_signal_init(sigs[i], daemon_signal_cb, signums[i]);
		sigs[i]->data = &st;
		ev_signal_start(st.loop, sigs[i]);
	}
	if (hk_state_open(cfg->daemon.state_directory, opts->reset_state, &st.store) < 0)
		goto out;
	struct hk_reap_leftover *leftovers = NULL;
	size_t n_leftovers = 0;
	hk_state_settle_intents(st.store, &leftovers, &n_leftovers);
	ev_prepare_init(&st.flush, daemon_flush_cb);
	st.flush.data = &st;
	ev_prepare_start(st.loop, &st.flush);
	ev_timer_init(&st.flush_timer, daemon_flush_timer_cb, 0., 0.);
	st.flush_timer.data = &st;
	ev_timer_init(&st.trim_timer, daemon_trim_cb, 0., 0.);
	st.trim_timer.data = &st;
	ev_idle_init(&st.prune, daemon_prune_cb);
	st.prune.data = &st;
	ev_idle_start(st.loop, &st.prune);
	st.notify = hk_notify_create(st.loop);
	hk_notify_set_command(st.notify, cfg->daemon.on_failure_argv);
	hk_notify_set_namer(st.notify, daemon_reg_name, &st);
	ev_timer_init(&st.event_timer, daemon_event_timer_cb, 0., 0.);
	st.event_timer.data = &st;
	ev_timer_init(&st.metrics_timer, daemon_metrics_timer_cb, 0., 0.);
	st.metrics_timer.data = &st;
	st.event_rep.trigger = "events";
	st.engine = hk_engine_create(st.loop, cfg, st.store,
				     opts->no_index_store ? HK_ENGINE_NO_INDEX_STORE : 0);
	if (!st.engine) {
		hk_reap_leftovers_free(leftovers, n_leftovers);
		goto out;
	}
	hk_engine_set_leftovers(st.engine, leftovers, n_leftovers);
	hk_engine_set_failure_hook(st.engine, daemon_failure_cb, &st);
	hk_engine_set_event_report(st.engine, &st.event_rep);
	st.sched = hk_sched_create(st.loop, st.engine);
	hk_sched_set_hook(st.sched, daemon_job_hook, &st);
	hk_sched_set_render(st.sched, true);
	hk_sched_set_next_id(st.sched, hk_store_job_last_id(st.store) + 1);
	st.service = hk_service_create(st.engine, st.sched, st.store, daemon_reload, &st);
	hk_service_set_notify(st.service, st.notify);
	st.loopstat = hk_loopstat_start(st.loop);
	hk_service_set_loopstat(st.service, st.loopstat);
	hk_service_load(st.service);
	if (daemon_start_ctl(&st) < 0)
		goto out;
	daemon_write_metrics(&st);   /* every series exists from the start */
	log_info("daemon", "started: %zu registration%s from %s", cfg->n_regs,
		 cfg->n_regs == 1 ? "" : "s", opts->config_file);
	daemon_notify("READY=1\nSTATUS=running");
	daemon_start_watchdog(&st);
	ev_run(st.loop, 0);
	rc = 0;
out:
	if (st.engine)   /* the control socket goes before the engine */
		hk_engine_set_yield(st.engine, -1, NULL, NULL);
	/* a cold index still being stored: finish, so the next start is warm */
	while (st.engine && st.store && hk_engine_persist_step(st.engine, 65536))
		hk_store_flush(st.store);
	if (st.engine)
		daemon_write_event_report(&st);
	daemon_summary_wait(&st.summary);
	hk_ctl_free(st.ctl);
	hk_sched_free(st.sched);
	hk_service_free(st.service);
	hk_loopstat_free(st.loopstat);
	st.service = NULL;
	hk_notify_free(st.notify);
	hk_engine_free(st.engine);
	if (st.store) {
		hk_store_flush(st.store);
		hk_store_close(st.store);
	}
	if (opts->pidfile)
		unlink(opts->pidfile);
	if (st.loop)
		ev_loop_destroy(st.loop);
	hk_config_free(st.cfg);
	log_info("daemon", "stopped");
	return rc;
}

int hk_daemon_main(int argc, char **argv)
{
	struct daemon_opts opts = { .config_file = HK_DEFAULT_CONFIG };
	/* A fixed threshold: glibc's default one rises to the size of the
	 * largest mapped block freed (an index's old hash table: megabytes),
	 * after which large arrays land in the heap, where one long-lived
	 * block above them keeps their pages after they are freed. */
	mallopt(M_MMAP_THRESHOLD, DAEMON_MMAP_THRESHOLD);
	int r = daemon_parse_args(argc, argv, &opts);
	if (r != 0)
		return r < 0 ? 0 : r;

	enum hk_log_target target = HK_LOG_STDERR;
	if (!opts.foreground && !opts.once && !opts.check_config && !opts.print_config &&
	    opts.daemonize)
		target = HK_LOG_SYSLOG;
	else if (getenv("JOURNAL_STREAM") || getenv("NOTIFY_SOCKET"))
		target = HK_LOG_JOURNAL;
	hk_log_init("housekeeperd", target, opts.verbose ? LOG_DEBUG : LOG_INFO);

	struct hk_config *cfg = daemon_load_config(opts.config_file, opts.state_dir);
	if (!cfg)
		return 1;
	if (opts.state_dir) {
		free(cfg->daemon.state_directory);
		cfg->daemon.state_directory = hk_xstrdup(opts.state_dir);
	}
	daemon_apply_log_level(&opts, cfg);
	if (opts.check_config) {
		if (!opts.quiet) {
			hk_lint_config(cfg, stderr);   /* warnings: still valid */
			printf("%s: configuration is valid (%zu file%s, %zu registration%s)\n",
			       opts.config_file, cfg->n_files, cfg->n_files == 1 ? "" : "s",
			       cfg->n_regs, cfg->n_regs == 1 ? "" : "s");
		}
		hk_config_free(cfg);
		return 0;
	}
	if (opts.print_config) {
		hk_config_print(cfg, stdout);
		hk_config_free(cfg);
		return 0;
	}
	if (opts.once)
		return daemon_once(&opts, cfg);
	return daemon_run(&opts, cfg);
}
