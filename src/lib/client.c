/*
 * client.c - libhousekeeper: the public client API of include/housekeeper.h
 * over the control socket (framing and envelopes from proto.c).
 *
 * Invariants: the library never aborts and never raises SIGPIPE (send with
 * MSG_NOSIGNAL); every wait is a poll() bounded by the handle's deadline,
 * except the wait for the answer of a run or wait_job, which comes when a
 * job ends (the daemon answers; a daemon gone ends it as HK_ENODAEMON);
 * the socket is non-blocking throughout; one call at a time per handle
 * (the handle's mutex), so request ids and the stream stay in step. After
 * a timeout or a broken frame the connection is closed (the stream can no
 * longer be trusted) and re-opened by the next call.
 */
#include "autoconfig.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "housekeeper.h"
#include "proto.h"

#ifndef HK_RUNSTATEDIR
#define HK_RUNSTATEDIR "/run/housekeeper"
#endif

struct hk_client {
	mtx_t lock;             /* C11: <pthread.h> includes <sched.h>, shadowed by src/sched.h */
	int fd;                 /* -1 when disconnected */
	char *path;
	int64_t next_id;
	int timeout_ms;         /* 0 = defaults */
	char *last_error;
};

const char *hk_default_socket_path(void)
{
	return HK_RUNSTATEDIR "/housekeeper.sock";
}

static int64_t client_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on fd until deadline (ms, monotonic). 0, -ETIMEDOUT. */
static int client_wait(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - client_now_ms();
		struct pollfd p = { .fd = fd, .events = events };
		if (left <= 0)
			return -ETIMEDOUT;
		int n = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

/* Open a connection to path. HK_ENODAEMON when nobody listens. */
static int client_open(const char *path, int64_t deadline, int *out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	*out = -1;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	for (;;) {
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EINPROGRESS) {
			/* backlog full: the daemon is busy; retry briefly */
			if (client_now_ms() >= deadline) {
				r = -ETIMEDOUT;
				goto fail;
			}
			struct timespec ts = { 0, 10 * 1000 * 1000 };
			nanosleep(&ts, NULL);
			continue;
		}
		if (errno == ENOENT || errno == ECONNREFUSED || errno == ENOTDIR ||
		    errno == ENOTSOCK || errno == ECONNRESET)
			r = HK_ENODAEMON;
		else
			r = -errno;
		goto fail;
	}
	*out = fd;
	return 0;
fail:
	close(fd);
	return r;
}

int hk_connect(const char *socket_path, struct hk_client **out)
{
	struct hk_client *c = NULL;
	const char *path = socket_path;
	int r;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!path || !*path) {
		path = getenv(HK_SOCKET_ENV);
		if (!path || !*path)
			path = hk_default_socket_path();
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = -1;
	c->path = strdup(path);
	if (!c->path) {
		free(c);
		return -ENOMEM;
	}
	r = client_open(c->path, client_now_ms() + HK_CLIENT_TIMEOUT_MS, &c->fd);
	if (r < 0) {
		free(c->path);
		free(c);
		return r;
	}
	if (mtx_init(&c->lock, mtx_plain) != thrd_success) {
		free(c->path);
		close(c->fd);
		free(c);
		return -ENOMEM;
	}
	*out = c;
	return 0;
}

void hk_disconnect(struct hk_client *client)
{
	if (!client)
		return;
	if (client->fd >= 0)
		close(client->fd);
	mtx_destroy(&client->lock);
	free(client->path);
	free(client->last_error);
	free(client);
}

int hk_client_set_timeout(struct hk_client *client, int timeout_ms)
{
	if (!client || timeout_ms < 0)
		return -EINVAL;
	mtx_lock(&client->lock);
	client->timeout_ms = timeout_ms;
	mtx_unlock(&client->lock);
	return 0;
}

char *hk_client_last_error(struct hk_client *client)
{
	char *s = NULL;

	if (!client)
		return NULL;
	mtx_lock(&client->lock);
	if (client->last_error)
		s = strdup(client->last_error);
	mtx_unlock(&client->lock);
	return s;
}

static void client_close(struct hk_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static int client_send_all(int fd, const char *buf, size_t len, int64_t deadline)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				int r = client_wait(fd, POLLOUT, deadline);
				if (r < 0)
					return r;
				continue;
			}
			return -errno;
		}
		off += (size_t)n;
	}
	return 0;
}

/* Read exactly len bytes. *got counts what arrived (to tell a connection
 * the daemon had already closed from one lost mid-answer). -ECONNRESET on
 * end of stream. */
static int client_recv_all(int fd, char *buf, size_t len, int64_t deadline, size_t *got)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = recv(fd, buf + off, len - off, MSG_DONTWAIT);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				int r = client_wait(fd, POLLIN, deadline);
				if (r < 0)
					return r;
				continue;
			}
			return -errno;
		}
		off += (size_t)n;
		*got += (size_t)n;
	}
	return 0;
}

/* One exchange on the open connection: send frame (by deadline), read
 * one response payload (a new string in *payload) by reply_deadline. */
static int client_exchange(struct hk_client *c, const char *frame, size_t frame_len,
			   int64_t deadline, int64_t reply_deadline, char **payload,
			   size_t *payload_len, size_t *got)
{
	unsigned char hdr[HK_PROTO_HEADER_LEN];
	char *buf = NULL;
	uint32_t len;
	int r;

	*payload = NULL;
	*got = 0;
	r = client_send_all(c->fd, frame, frame_len, deadline);
	/* A server that refuses the connection (too many clients, too many of
	 * this uid) sends one error frame and closes before reading us: the
	 * frame is still there to read, and tells more than EPIPE. */
	if (r < 0 && r != -EPIPE && r != -ECONNRESET)
		return r;
	int sent = r;
	r = client_recv_all(c->fd, (char *)hdr, sizeof(hdr), reply_deadline, got);
	if (r < 0)
		return sent < 0 ? sent : r;
	len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
	if (len > HK_PROTO_MAX_RESPONSE)
		return HK_EPROTO;
	buf = malloc((size_t)len + 1);
	if (!buf)
		return -ENOMEM;
	r = client_recv_all(c->fd, buf, len, reply_deadline, got);
	if (r < 0) {
		free(buf);
		return r;
	}
	buf[len] = '\0';
	*payload = buf;
	*payload_len = len;
	return 0;
}

static void client_set_last_error(struct hk_client *c, const json_t *error)
{
	char *msg = NULL;

	free(c->last_error);
	c->last_error = NULL;
	if (error && hk_proto_get_bytes(error, "message", &msg, NULL) == 0)
		c->last_error = msg;
}

/* Has the daemon closed the idle connection (or sent what we did not
 * ask for)? Then it cannot carry a request. */
static bool client_stale(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, 0) > 0;
}

/* Send op(args) and wait for the answer. args is stolen. default_timeout
 * is in ms; CLIENT_JOB_WAIT: the answer comes when a job ends, which
 * takes as long as the job does: no deadline for it (the send and the
 * connection keep theirs), and a request that starts a job is never sent
 * twice. Returns 0 with *result, the daemon's code with *error, or a
 * transport error. */
#define CLIENT_JOB_WAIT (-1)
#define CLIENT_JOB_START (-2)
static int client_request(struct hk_client *c, const char *op, json_t *args, int default_timeout,
			  json_t **result, json_t **error)
{
	json_t *msg = NULL;
	char *frame = NULL, *payload = NULL, *cause = NULL;
	size_t frame_len = 0, payload_len = 0, got = 0;
	int64_t id, deadline;
	int r;

	*result = NULL;
	*error = NULL;
	mtx_lock(&c->lock);
	free(c->last_error);
	c->last_error = NULL;
	bool job = default_timeout < 0;
	deadline = client_now_ms() + (c->timeout_ms > 0 ? c->timeout_ms
				      : job ? HK_CLIENT_TIMEOUT_MS : default_timeout);
	int64_t reply_deadline = job ? INT64_MAX : deadline;
	id = ++c->next_id;
	msg = hk_proto_request_new(id, op, args);
	args = NULL;
	if (!msg) {
		r = -ENOMEM;
		goto out;
	}
	r = hk_proto_frame_encode(msg, HK_PROTO_MAX_REQUEST, &frame, &frame_len);
	if (r < 0) {
		if (r == HK_EPROTO)
			r = -EMSGSIZE;
		goto out;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		if (c->fd >= 0 && client_stale(c->fd))
			client_close(c);
		if (c->fd < 0) {
			r = client_open(c->path, deadline, &c->fd);
			if (r < 0)
				goto out;
		}
		r = client_exchange(c, frame, frame_len, deadline, reply_deadline, &payload,
				    &payload_len, &got);
		if (r == 0)
			break;
		client_close(c);
		/* the daemon closed an idle connection before reading us: retry
		 * once (not a run, which the daemon may have started: the
		 * connection lost is then the daemon gone) */
		if (got == 0 && (r == -ECONNRESET || r == -EPIPE || r == -ENOTCONN)) {
			if (default_timeout != CLIENT_JOB_START)
				continue;
			r = HK_ENODAEMON;
		}
		goto out;
	}
	if (r < 0) {
		r = HK_ENODAEMON;
		goto out;
	}
	r = hk_proto_response_parse(payload, payload_len, id, result, error, &cause);
	if (r == HK_EPROTO && !*error) {
		client_close(c);
		free(c->last_error);
		c->last_error = cause;
		cause = NULL;
	} else if (r < 0) {
		client_set_last_error(c, *error);
	}
out:
	mtx_unlock(&c->lock);
	json_decref(msg);
	json_decref(args);
	free(frame);
	free(payload);
	free(cause);
	return r;
}

/* The time limit of op(args): a run and a wait for a job answer when the
 * job ends, however long it takes. */
static int client_op_timeout(const char *op)
{
	if (strcmp(op, "run_cleanup") == 0)
		return CLIENT_JOB_START;
	if (strcmp(op, "wait_job") == 0)
		return CLIENT_JOB_WAIT;
	return HK_CLIENT_TIMEOUT_MS;
}

int hk_call(struct hk_client *client, const char *op, const char *args_json, char **result_json)
{
	json_t *args = NULL, *result = NULL, *error = NULL;
	int r;

	if (!result_json)
		return -EINVAL;
	*result_json = NULL;
	if (!client || !op)
		return -EINVAL;
	if (args_json) {
		args = json_loads(args_json, 0, NULL);
		if (!json_is_object(args)) {
			json_decref(args);
			return -EINVAL;
		}
	}
	r = client_request(client, op, args, client_op_timeout(op), &result, &error);
	if (r == 0) {
		*result_json = json_dumps(result, JSON_COMPACT | JSON_ENCODE_ANY);
		if (!*result_json)
			r = -ENOMEM;
	} else if (error) {
		*result_json = json_dumps(error, JSON_COMPACT);
	}
	json_decref(result);
	json_decref(error);
	return r;
}

/* args of register/update from a spec. NULL on out-of-memory. */
static json_t *client_spec_args(const struct hk_cleanup_spec *s)
{
	json_t *a = json_object();
	bool bad = !a;

	if (bad)
		return NULL;
	if (s->directory)
		bad |= hk_proto_set_bytes(a, "directory", s->directory, strlen(s->directory)) < 0;
	if (s->pattern)
		bad |= hk_proto_set_bytes(a, "pattern", s->pattern, strlen(s->pattern)) < 0;
	if (s->exclude) {
		json_t *ex = json_array();
		json_t *exb = json_array();
		bool any_b64 = false;
		bad |= !ex || !exb;
		for (size_t i = 0; !bad && i < s->n_exclude; i++) {
			json_t *tmp = json_object();
			bad |= !tmp || hk_proto_set_bytes(tmp, "x", s->exclude[i], strlen(s->exclude[i])) < 0;
			if (!bad) {
				json_t *b = json_object_get(tmp, "x_b64");
				json_array_append(ex, json_object_get(tmp, "x"));
				json_array_append_new(exb, b ? json_incref(b) : json_string(""));
				any_b64 |= b != NULL;
			}
			json_decref(tmp);
		}
		if (!bad) {
			json_object_set(a, "exclude", ex);
			if (any_b64) {
				/* every element needs its base64 once one does */
				for (size_t i = 0; i < s->n_exclude; i++) {
					char *b = hk_proto_base64_encode(s->exclude[i], strlen(s->exclude[i]));
					bad |= !b || json_array_set_new(exb, i, json_string(b)) < 0;
					free(b);
				}
				json_object_set(a, "exclude_b64", exb);
			}
		}
		json_decref(ex);
		json_decref(exb);
	}
	if (s->has_retention)
		bad |= json_object_set_new(a, "retention", json_integer(s->retention)) < 0;
	if (s->has_max_files)
		bad |= json_object_set_new(a, "max_files",
					   json_integer(s->max_files > INT64_MAX ? INT64_MAX : (json_int_t)s->max_files)) < 0;
	if (s->has_max_size)
		bad |= json_object_set_new(a, "max_size",
					   json_integer(s->max_size > INT64_MAX ? INT64_MAX : (json_int_t)s->max_size)) < 0;
	if (s->has_priority)
		bad |= json_object_set_new(a, "priority", json_integer(s->priority)) < 0;
	if (s->description)
		bad |= hk_proto_set_bytes(a, "description", s->description, strlen(s->description)) < 0;
	if (s->has_recursive)
		bad |= json_object_set_new(a, "recursive", json_boolean(s->recursive)) < 0;
	if (bad) {
		json_decref(a);
		return NULL;
	}
	return a;
}

/* Add the set fields of limits (SPEC 5's later keys) to args; false on
 * out-of-memory. An unknown limits->size (a newer caller's struct) is
 * read only as far as this version knows. */
static bool client_limits_args(json_t *a, const struct hk_cleanup_limits *l)
{
	bool bad = false;
	if (!l)
		return true;
	if (l->min_free)
		bad |= json_object_set_new(a, "min_free", *l->min_free ? json_string(l->min_free)
								    : json_null()) < 0;
	if (l->free_target)
		bad |= json_object_set_new(a, "free_target", *l->free_target
					   ? json_string(l->free_target) : json_null()) < 0;
	if (l->low_watermark)
		bad |= json_object_set_new(a, "low_watermark", *l->low_watermark
					   ? json_string(l->low_watermark) : json_null()) < 0;
	if (l->has_skip_open)
		bad |= json_object_set_new(a, "skip_open", json_boolean(l->skip_open)) < 0;
	if (l->unit)
		bad |= json_object_set_new(a, "unit", json_string(l->unit)) < 0;
	if (l->has_remove_empty_dirs)
		bad |= json_object_set_new(a, "remove_empty_dirs",
					   json_boolean(l->remove_empty_dirs)) < 0;
	return !bad;
}

int hk_register_cleanup_limits(struct hk_client *client, const struct hk_cleanup_spec *spec,
			       const struct hk_cleanup_limits *limits, char **id_out)
{
	json_t *args, *result = NULL, *error = NULL;
	const char *id;
	int r;

	if (id_out)
		*id_out = NULL;
	if (!client || !spec || !spec->directory ||
	    (limits && limits->size < sizeof(struct hk_cleanup_limits)))
		return -EINVAL;
	args = client_spec_args(spec);
	if (!args || !client_limits_args(args, limits)) {
		json_decref(args);
		return -ENOMEM;
	}
	r = client_request(client, "register_cleanup", args, HK_CLIENT_TIMEOUT_MS, &result, &error);
	if (r < 0)
		goto out;
	id = json_string_value(json_object_get(result, "id"));
	if (!id) {
		r = HK_EPROTO;
		goto out;
	}
	if (id_out) {
		*id_out = strdup(id);
		if (!*id_out)
			r = -ENOMEM;
	}
out:
	json_decref(result);
	json_decref(error);
	return r;
}

int hk_register_cleanup(struct hk_client *client, const struct hk_cleanup_spec *spec,
			char **id_out)
{
	return hk_register_cleanup_limits(client, spec, NULL, id_out);
}

int hk_update_cleanup_limits(struct hk_client *client, const char *id,
			     const struct hk_cleanup_spec *spec,
			     const struct hk_cleanup_limits *limits)
{
	static const struct hk_cleanup_spec none = HK_CLEANUP_SPEC_INIT;
	json_t *args, *result = NULL, *error = NULL;
	int r;

	if (!client || !id || (!spec && !limits) ||
	    (limits && limits->size < sizeof(struct hk_cleanup_limits)))
		return -EINVAL;
	args = client_spec_args(spec ? spec : &none);
	if (!args || !client_limits_args(args, limits) ||
	    json_object_set_new(args, "id", json_string(id)) < 0) {
		json_decref(args);
		return -ENOMEM;
	}
	r = client_request(client, "update_cleanup_config", args, HK_CLIENT_TIMEOUT_MS, &result,
			   &error);
	json_decref(result);
	json_decref(error);
	return r;
}

int hk_update_cleanup_config(struct hk_client *client, const char *id,
			     const struct hk_cleanup_spec *spec)
{
	if (!spec)
		return -EINVAL;
	return hk_update_cleanup_limits(client, id, spec, NULL);
}

int hk_remove_cleanup_config(struct hk_client *client, const char *id)
{
	json_t *args, *result = NULL, *error = NULL;
	int r;

	if (!client || !id)
		return -EINVAL;
	args = json_pack("{s:s}", "id", id);
	if (!args)
		return -ENOMEM;
	r = client_request(client, "remove_cleanup_config", args, HK_CLIENT_TIMEOUT_MS, &result,
			   &error);
	json_decref(result);
	json_decref(error);
	return r;
}

int hk_run_cleanup(struct hk_client *client, const char *id, bool dry_run, char **report_json_out)
{
	json_t *args, *result = NULL, *error = NULL;
	int r;

	if (report_json_out)
		*report_json_out = NULL;
	if (!client)
		return -EINVAL;
	args = json_pack("{s:o, s:b}", "id", id ? json_string(id) : json_null(), "dry_run", dry_run);
	if (!args)
		return -ENOMEM;
	r = client_request(client, "run_cleanup", args, CLIENT_JOB_START, &result, &error);
	if (r == 0 && report_json_out) {
		*report_json_out = json_dumps(result, JSON_COMPACT | JSON_ENCODE_ANY);
		if (!*report_json_out)
			r = -ENOMEM;
	}
	json_decref(result);
	json_decref(error);
	return r;
}

int hk_submit_cleanup(struct hk_client *client, const char *id, bool dry_run, uint64_t *job_id)
{
	json_t *args, *result = NULL, *error = NULL;
	const json_t *jid;
	int r;

	if (job_id)
		*job_id = 0;
	if (!client)
		return -EINVAL;
	args = json_pack("{s:o, s:b, s:b}", "id", id ? json_string(id) : json_null(), "dry_run",
			 dry_run, "no_wait", 1);
	if (!args)
		return -ENOMEM;
	r = client_request(client, "run_cleanup", args, CLIENT_JOB_START, &result, &error);
	jid = json_object_get(result, "job_id");
	if (r == 0 && (!json_is_integer(jid) || json_integer_value(jid) <= 0))
		r = HK_EPROTO;
	if (r == 0 && job_id)
		*job_id = (uint64_t)json_integer_value(jid);
	json_decref(result);
	json_decref(error);
	return r;
}

static uint64_t client_uint(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
}

static void client_job_status(const json_t *res, struct hk_job_status *st)
{
	const json_t *job = json_object_get(res, "job");
	const char *outcome = json_string_value(json_object_get(job, "outcome"));

	memset(st, 0, sizeof(*st));
	st->job_id = client_uint(res, "job_id");
	st->done = json_is_true(json_object_get(res, "done"));
	snprintf(st->outcome, sizeof(st->outcome), "%s", outcome ? outcome : "");
	st->registrations_total = client_uint(job, "registrations_total");
	st->registrations_done = client_uint(job, "registrations_done");
	st->scanned = client_uint(job, "scanned");
	st->deleted = client_uint(job, "deleted");
	st->bytes = client_uint(job, "bytes");
	st->errors = client_uint(job, "errors");
	st->n_waiting = json_array_size(json_object_get(job, "waiting"));
	st->n_not_run = json_array_size(json_object_get(job, "not_run"));
}

int hk_wait_job(struct hk_client *client, uint64_t job_id, int timeout_ms,
		struct hk_job_status *status, char **report_json_out)
{
	json_t *args, *result = NULL, *error = NULL;
	const json_t *rep;
	int r;

	if (report_json_out)
		*report_json_out = NULL;
	if (!client || !job_id || job_id > INT64_MAX)
		return -EINVAL;
	args = json_pack("{s:I}", "job_id", (json_int_t)job_id);
	if (args && timeout_ms >= 0)
		json_object_set_new(args, "timeout", json_real(timeout_ms / 1000.0));
	if (!args)
		return -ENOMEM;
	r = client_request(client, "wait_job", args, CLIENT_JOB_WAIT, &result, &error);
	if (r == 0 && !json_is_object(json_object_get(result, "job")))
		r = HK_EPROTO;
	if (r == 0 && status)
		client_job_status(result, status);
	rep = json_object_get(result, "report");
	if (r == 0 && report_json_out && json_is_object(rep)) {
		*report_json_out = json_dumps(rep, JSON_COMPACT);
		if (!*report_json_out)
			r = -ENOMEM;
	}
	json_decref(result);
	json_decref(error);
	return r;
}

static void client_config_fini(struct hk_cleanup_config *c)
{
	free(c->name);
	free(c->directory);
	free(c->pattern);
	for (size_t i = 0; c->exclude && i < c->n_exclude; i++)
		free(c->exclude[i]);
	free(c->exclude);
	free(c->description);
	free(c->source_file);
}

void hk_cleanup_configs_free(struct hk_cleanup_config *configs, size_t n)
{
	if (!configs)
		return;
	for (size_t i = 0; i < n; i++)
		client_config_fini(&configs[i]);
	free(configs);
}

/* Optional byte string: absent/null leaves NULL. */
static int client_opt_bytes(const json_t *o, const char *key, char **out)
{
	int r = hk_proto_get_bytes(o, key, out, NULL);
	return r == -ENOENT ? 0 : r;
}

static int64_t client_int(const json_t *o, const char *key, bool *has)
{
	const json_t *v = json_object_get(o, key);
	if (has)
		*has = json_is_integer(v);
	return json_is_integer(v) ? json_integer_value(v) : 0;
}

static int client_config_from_json(const json_t *o, struct hk_cleanup_config *c)
{
	const char *id = json_string_value(json_object_get(o, "id"));
	const json_t *ex = json_object_get(o, "exclude");
	const json_t *exb = json_object_get(o, "exclude_b64");
	const char *src = json_string_value(json_object_get(o, "source"));
	int r;

	if (!json_is_object(o) || !id || strlen(id) >= sizeof(c->id))
		return HK_EPROTO;
	memcpy(c->id, id, strlen(id) + 1);
	if ((r = client_opt_bytes(o, "name", &c->name)) < 0 ||
	    (r = hk_proto_get_bytes(o, "directory", &c->directory, NULL)) < 0 ||
	    (r = hk_proto_get_bytes(o, "pattern", &c->pattern, NULL)) < 0 ||
	    (r = client_opt_bytes(o, "description", &c->description)) < 0 ||
	    (r = client_opt_bytes(o, "source_file", &c->source_file)) < 0)
		return r == -ENOENT ? HK_EPROTO : r;
	if (json_is_array(ex) && json_array_size(ex)) {
		c->exclude = calloc(json_array_size(ex), sizeof(*c->exclude));
		if (!c->exclude)
			return -ENOMEM;
		for (size_t i = 0; i < json_array_size(ex); i++) {
			r = hk_proto_bytes_from_json(json_array_get(ex, i),
						     json_is_array(exb) ? json_array_get(exb, i) : NULL,
						     &c->exclude[i], NULL);
			if (r < 0)
				return r == -ENOENT ? HK_EPROTO : r;
			c->n_exclude++;
		}
	}
	c->retention = client_int(o, "retention", &c->has_retention);
	c->max_files = (uint64_t)client_int(o, "max_files", &c->has_max_files);
	c->max_size = (uint64_t)client_int(o, "max_size", &c->has_max_size);
	c->priority = (long)client_int(o, "priority", NULL);
	c->recursive = json_is_true(json_object_get(o, "recursive"));
	c->created_at = client_int(o, "created_at", NULL);
	c->updated_at = client_int(o, "updated_at", NULL);
	c->last_run = client_int(o, "last_run", NULL);
	c->source = src && strcmp(src, "config") == 0 ? HK_CLEANUP_SOURCE_CONFIG : HK_CLEANUP_SOURCE_API;
	c->owner_uid = (uint32_t)client_int(o, "owner_uid", NULL);
	return 0;
}

int hk_get_cleanup_configs(struct hk_client *client, struct hk_cleanup_config **out, size_t *n)
{
	json_t *result = NULL, *error = NULL;
	struct hk_cleanup_config *list = NULL;
	size_t count = 0;
	int r;

	if (out)
		*out = NULL;
	if (n)
		*n = 0;
	if (!client || !out || !n)
		return -EINVAL;
	r = client_request(client, "get_cleanup_configs", NULL, HK_CLIENT_TIMEOUT_MS, &result, &error);
	if (r < 0)
		goto out;
	if (!json_is_array(result)) {
		r = HK_EPROTO;
		goto out;
	}
	if (json_array_size(result)) {
		list = calloc(json_array_size(result), sizeof(*list));
		if (!list) {
			r = -ENOMEM;
			goto out;
		}
	}
	for (size_t i = 0; i < json_array_size(result); i++) {
		r = client_config_from_json(json_array_get(result, i), &list[i]);
		count++;
		if (r < 0)
			goto out;
	}
	*out = list;
	*n = count;
	list = NULL;
out:
	hk_cleanup_configs_free(list, count);
	json_decref(result);
	json_decref(error);
	return r;
}
