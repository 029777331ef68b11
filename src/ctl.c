/*
 * ctl.c - the control socket server: socket creation, clients on the loop,
 * per-client limits and deadlines, accept and back-off, the per-iteration
 * query budget (see ctl.h). What a request does is ctl_ops.c.
 *
 * Invariants:
 * - A client is served one request at a time: while a reply is being
 *   written nothing more is read or decoded, so a client can never make
 *   the daemon buffer more than one reply plus one read chunk.
 * - Every client has exactly one deadline armed: finishing a started
 *   request (HK_CTL_READ_TIMEOUT), taking a pending reply
 *   (HK_CTL_WRITE_TIMEOUT), or idling (HK_CTL_IDLE_TIMEOUT for root,
 *   HK_FAIR_IDLE_TIMEOUT for another uid).
 * - Every client holds one slot of ctl->fair, taken at accept and given
 *   back in ctl_client_free; a connection without a slot is refused at
 *   once with an error frame.
 * - Nothing a client sends can stop the server: protocol errors answer
 *   with an error and, when the stream cannot continue (oversize frame),
 *   close that client only.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <ev.h>

#include "ctl.h"
#include "ctl_int.h"
#include "fair.h"
#include "log.h"
#include "proto.h"
#include "util.h"

#define CTL_READ_CHUNK 65536
/* Queries (heavy ops, ctl_ops.c) answered in one loop iteration: for about this long;
 * the others wait for the next iteration, so that status, events and
 * timers are served between pages (20 audit readers each asking for a
 * 1,000-record page built 20 pages, 100 ms, in one iteration). */
#define CTL_ITER_BUDGET_NS (4 * 1000 * 1000)

/* Server ------------------------------------------------------------------------ */

struct ctl_client {
	struct hk_ctl *ctl;
	struct ctl_client *next;
	struct ctl_client *prev;
	int fd;
	ev_io rio;
	ev_io wio;
	ev_timer timer;
	struct hk_proto_decoder dec;
	char *in;               /* read but not yet decoded */
	size_t in_len, in_off;
	char *out;              /* reply being written */
	size_t out_len, out_off;
	char *body;             /* the rest of it, written after out (a report's text) */
	size_t body_len;
	struct hk_ctl_peer peer;
	ev_tstamp partial_since;
	ev_tstamp last_activity;
	bool closing;           /* close once out is written */
	struct hk_ctl_pending *pending;   /* a deferred reply being waited for */
	int64_t pending_id;     /* its request id */
	bool held;              /* more input waits in the kernel until the reply is out */
	bool in_urgent;         /* its fd is in ctl->urgent_ep (while reading) */
	char *deferred;         /* a query waiting for a later loop iteration */
	size_t deferred_len;
	uint64_t deferred_seq;  /* its turn: the oldest goes first */
};

struct hk_ctl {
	struct ev_loop *loop;
	int fd;
	char *path;
	dev_t dev;
	ino_t ino;
	const struct hk_ctl_ops *ops;
	void *ops_ctx;
	ev_io accept_w;
	ev_timer backoff_w;
	struct ctl_client *clients;
	size_t n_clients;
	struct hk_fair *fair;   /* slots, connections and runs per uid */
	size_t pending;         /* bytes of replies not yet written, all clients */
	double read_timeout;
	double write_timeout;
	double idle_timeout;
	double user_idle_timeout;
	ev_idle resume;         /* answers deferred queries (CTL_ITER_BUDGET_NS) */
	uint64_t deferrals;     /* queries deferred so far (their turns) */
	int urgent_ep;          /* epoll set: the listening socket and reading clients */
	bool urgent;            /* hk_ctl_serve_urgent is answering */
	bool in_request;        /* a request is being answered: no urgent serving (the
				 * engine work it does is no safe point, and its
				 * client's buffers are in use) */
	unsigned iter;          /* the loop iteration iter_spent is of */
	int64_t iter_spent;     /* ns spent on queries in it */
};

static void ctl_client_free(struct ctl_client *c)
{
	struct hk_ctl *ctl = c->ctl;

	if (c->pending) {
		/* the client went away: its wait ends, the job goes on */
		log_debug("ctl", "client uid %u pid %d gone while waiting; wait cancelled",
			  (unsigned)c->peer.uid, (int)c->peer.pid);
		hk_ctl_pending_cancel(c->pending);
		c->pending = NULL;
	}
	ev_io_stop(ctl->loop, &c->rio);
	ev_io_stop(ctl->loop, &c->wio);
	ev_timer_stop(ctl->loop, &c->timer);
	if (c->prev)
		c->prev->next = c->next;
	else
		ctl->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	ctl->n_clients--;
	hk_fair_client_remove(ctl->fair, c->peer.uid);
	ctl->pending -= c->out_len + c->body_len;
	free(c->body);
	free(c->deferred);
	if (c->in_urgent)
		epoll_ctl(ctl->urgent_ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	hk_proto_decoder_fini(&c->dec);
	free(c->in);
	free(c->out);
	free(c);
}

/* Root keeps its connections long (tools that hold one open); a non-root
 * uid gets the short limit, so idle connections cannot hold its slots. */
static double ctl_idle_timeout(const struct ctl_client *c)
{
	const struct hk_ctl *ctl = c->ctl;
	if (c->peer.uid == 0 || ctl->user_idle_timeout > ctl->idle_timeout)
		return ctl->idle_timeout;
	return ctl->user_idle_timeout;
}

/* Arm the one deadline that applies now (see the invariants). */
static void ctl_client_arm_watchers(struct ctl_client *c)
{
	struct ev_loop *loop = c->ctl->loop;
	ev_tstamp deadline;

	if (c->deferred) {
		/* its query waits for a later iteration: nothing read meanwhile */
		ev_timer_stop(loop, &c->timer);
		ev_io_stop(loop, &c->wio);
		ev_io_stop(loop, &c->rio);
		return;
	}
	if (c->pending) {
		/* waiting for a job is not idling: no deadline; reading only to
		 * see the client go away */
		ev_timer_stop(loop, &c->timer);
		ev_io_stop(loop, &c->wio);
		if (c->held || c->closing)
			ev_io_stop(loop, &c->rio);
		else
			ev_io_start(loop, &c->rio);
		return;
	}
	if (c->out)
		deadline = c->last_activity + c->ctl->write_timeout;
	else if (hk_proto_decoder_partial(&c->dec) || c->in)
		deadline = c->partial_since + c->ctl->read_timeout;
	else
		deadline = c->last_activity + ctl_idle_timeout(c);
	ev_timer_stop(loop, &c->timer);
	ev_timer_set(&c->timer, deadline > ev_now(loop) ? deadline - ev_now(loop) : 0.0, 0.0);
	ev_timer_start(loop, &c->timer);
	if (c->out) {
		ev_io_stop(loop, &c->rio);
		ev_io_start(loop, &c->wio);
	} else {
		ev_io_stop(loop, &c->wio);
		if (c->closing)
			ev_io_stop(loop, &c->rio);
		else
			ev_io_start(loop, &c->rio);
	}
}

/* The urgent set holds a client while it is read from, and only then: a
 * client with a reply going out, a deferred query or a wait would make
 * every look at the set (epoll reports a hangup whatever it is asked for)
 * find something it must not serve. */
static void ctl_client_arm(struct ctl_client *c)
{
	ctl_client_arm_watchers(c);
	bool reading = ev_is_active(&c->rio);
	if (reading == c->in_urgent)
		return;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
	if (epoll_ctl(c->ctl->urgent_ep, reading ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, c->fd, &ev) == 0)
		c->in_urgent = reading;
}

/* Write what we can of c->out. Returns false when the client was freed. */
static bool ctl_client_flush(struct ctl_client *c)
{
	while (c->out && c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return true;
			log_debug("ctl", "client pid %d: write: %s", (int)c->peer.pid, strerror(errno));
			ctl_client_free(c);
			return false;
		}
		c->out_off += (size_t)n;
		c->last_activity = ev_now(c->ctl->loop);
		if (c->out_off == c->out_len && c->body) {
			free(c->out);
			c->ctl->pending -= c->out_len;
			c->out = c->body;
			c->out_len = c->body_len;
			c->out_off = 0;
			c->body = NULL;
			c->body_len = 0;
		}
	}
	free(c->out);
	c->ctl->pending -= c->out_len;
	c->out = NULL;
	c->out_len = c->out_off = 0;
	if (c->closing) {
		ctl_client_free(c);
		return false;
	}
	return true;
}

/* Queue a frame and try to write it. Returns false when the client was freed. */
static bool ctl_client_send(struct ctl_client *c, char *frame, size_t len)
{
	c->out = frame;
	c->out_len = len;
	c->out_off = 0;
	c->ctl->pending += len;
	return ctl_client_flush(c);
}

/* Has the client closed its end (POLLHUP: nothing can be written to it
 * any more)? Its requests are then dropped unanswered, without doing
 * their work. A client that only shut down its sending side still gets
 * its answers. */
static bool ctl_client_gone(const struct ctl_client *c)
{
	struct pollfd p = { .fd = c->fd, .events = 0 };

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR));
}

/* Are there too many unread replies, of c's uid or of everyone's? Then c's
 * request is refused (the limits of ctl.h), so slow or stalled readers
 * cannot make the daemon hold unbounded memory. Root is never refused:
 * its own big report being read must not lock root out of status. */
static bool ctl_client_over(const struct ctl_client *c)
{
	const struct hk_ctl *ctl = c->ctl;
	size_t mine = 0;

	if (c->peer.uid == 0)
		return false;

	for (const struct ctl_client *o = ctl->clients; o; o = o->next)
		if (o->peer.uid == c->peer.uid)
			mine += o->out_len - o->out_off + o->body_len;
	if (mine <= HK_CTL_PENDING_UID && ctl->pending <= HK_CTL_PENDING_MAX)
		return false;
	log_debug("ctl", "client uid %u pid %d: request refused: %zu bytes of replies of this uid "
		  "unread, %zu in all", (unsigned)c->peer.uid, (int)c->peer.pid, mine, ctl->pending);
	return true;
}

/* A deferred reply is ready: queue it; the write watcher sends it and
 * goes on with the client's next request (never from inside the op that
 * completed it). */
static void ctl_client_deliver(struct hk_ctl_reply *reply, void *arg)
{
	struct ctl_client *c = arg;

	ctl_reply_encode(c->pending_id, reply, &c->out, &c->out_len, &c->body, &c->body_len);
	c->out_off = 0;
	c->ctl->pending += c->out_len + c->body_len;   /* unread reply bytes, as ctl_client_send counts them */
	c->pending = NULL;
	c->held = false;
	c->last_activity = ev_now(c->ctl->loop);
	ctl_client_arm(c);
}

/* Has this loop iteration's budget for queries been spent? */
static bool ctl_budget_spent(struct hk_ctl *ctl)
{
	unsigned it = ev_iteration(ctl->loop);
	if (it != ctl->iter) {
		ctl->iter = it;
		ctl->iter_spent = 0;
	}
	return ctl->iter_spent >= CTL_ITER_BUDGET_NS;
}

/* Does the request wait for a later loop iteration? A query whose answer
 * can be large (a page of records, a list) once this iteration's budget
 * is spent: those take turns across iterations. And, while the engine is
 * in the middle of long work (hk_ctl_serve_urgent), anything but the
 * cheap read-only queries that may be answered there. */
static bool ctl_defer(struct hk_ctl *ctl, const char *text, size_t len)
{
	if (!ctl->urgent && !ctl_budget_spent(ctl))
		return false;
	json_t *msg = json_loadb(text, len, 0, NULL);
	const char *op = json_string_value(json_object_get(msg, "op"));
	bool r = ctl->urgent ? !ctl_op_urgent(op) : ctl_op_heavy(op);
	json_decref(msg);
	return r;
}

/* Answer one request (text: taken). Returns false when the client was
 * freed. */
static bool ctl_client_request(struct ctl_client *c, char *text, size_t len)
{
	struct hk_ctl *ctl = c->ctl;
	size_t flen = 0;
	char *frame = NULL;
	int64_t t0 = hk_time_mono_ns();

	if (ctl_client_gone(c)) {
		log_debug("ctl", "client pid %d: gone; request dropped", (int)c->peer.pid);
		free(text);
		ctl_client_free(c);
		return false;
	}
	struct hk_ctl_pending *pending = NULL;
	bool was_in = ctl->in_request;
	ctl->in_request = true;
	ctl_handle_payload(ctl->ops, ctl->ops_ctx, &c->peer, ctl->fair, ev_now(ctl->loop),
			   ctl_client_over(c), text, len, &frame, &flen, &pending, &c->pending_id);
	ctl->in_request = was_in;
	free(text);
	ctl_budget_spent(ctl);
	ctl->iter_spent += hk_time_mono_ns() - t0;
	c->partial_since = ev_now(ctl->loop);
	if (pending) {
		c->pending = pending;
		hk_ctl_pending_attach(pending, ctl_client_deliver, c);
		if (c->out && !ctl_client_flush(c))
			return false;   /* answered at once (an ended job) */
		return true;
	}
	return ctl_client_send(c, frame, flen);
}

/* Decode and answer buffered requests, one at a time. Returns false when
 * the client was freed. */
static bool ctl_client_process(struct ctl_client *c)
{
	struct hk_ctl *ctl = c->ctl;

	while (c->in && !c->out && !c->pending && !c->deferred) {
		bool was_partial = hk_proto_decoder_partial(&c->dec);
		size_t used = 0;
		int r = hk_proto_decoder_feed(&c->dec, c->in + c->in_off, c->in_len - c->in_off, &used);
		c->in_off += used;
		if (c->in_off == c->in_len) {
			free(c->in);
			c->in = NULL;
			c->in_len = c->in_off = 0;
		}
		if (!was_partial && hk_proto_decoder_partial(&c->dec))
			c->partial_since = ev_now(ctl->loop);
		if (r < 0) {
			/* oversize: answer, then drop the unsynchronizable stream */
			char *frame = NULL;
			size_t len = 0;
			json_t *msg = hk_proto_response_error(-1, HK_EPROTO,
							      "message too large (at most 1 MiB)", NULL);
			log_info("ctl", "client uid %u pid %d: oversized message, disconnecting",
				 (unsigned)c->peer.uid, (int)c->peer.pid);
			ctl_encode(msg, -1, &frame, &len);
			c->closing = true;
			free(c->in);
			c->in = NULL;
			return ctl_client_send(c, frame, len);
		}
		if (r == 1) {
			size_t len = 0;
			char *text = hk_proto_decoder_take(&c->dec, &len);
			if (ctl_defer(ctl, text, len)) {
				c->deferred = text;
				c->deferred_len = len;
				c->deferred_seq = ctl->deferrals++;
				ev_idle_start(ctl->loop, &ctl->resume);
				return true;
			}
			if (!ctl_client_request(c, text, len))
				return false;
		}
	}
	return true;
}

/* Answer the deferred queries, oldest first, within the iteration's
 * budget. */
static void ctl_resume_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct hk_ctl *ctl = w->data;

	(void)revents;
	while (!ctl_budget_spent(ctl)) {
		struct ctl_client *c = NULL;
		for (struct ctl_client *o = ctl->clients; o; o = o->next)
			if (o->deferred && (!c || o->deferred_seq < c->deferred_seq))
				c = o;
		if (!c) {
			ev_idle_stop(loop, w);
			return;
		}
		char *text = c->deferred;
		c->deferred = NULL;
		if (ctl_client_request(c, text, c->deferred_len) && ctl_client_process(c))
			ctl_client_arm(c);
		/* a status call waits for one page at most, not for a budget of them */
		hk_ctl_serve_urgent(ctl);
	}
}

static void ctl_client_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctl_client *c = w->data;
	char buf[CTL_READ_CHUNK];
	ssize_t n;

	if (c->pending) {
		/* waiting: end of file cancels the wait; a next request stays
		 * in the kernel until the reply is out (one at a time) */
		n = recv(c->fd, buf, 1, MSG_PEEK | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		if (n <= 0) {
			ctl_client_free(c);
			return;
		}
		c->held = true;
		ctl_client_arm(c);
		return;
	}
	n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		if (n < 0)
			log_debug("ctl", "client pid %d: read: %s", (int)c->peer.pid, strerror(errno));
		ctl_client_free(c);
		return;
	}
	c->last_activity = ev_now(loop);
	if (!hk_proto_decoder_partial(&c->dec))
		c->partial_since = ev_now(loop);
	c->in = hk_xmalloc((size_t)n);
	memcpy(c->in, buf, (size_t)n);
	c->in_len = (size_t)n;
	c->in_off = 0;
	if (ctl_client_process(c))
		ctl_client_arm(c);
}

static void ctl_client_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctl_client *c = w->data;

	if (!ctl_client_flush(c))
		return;
	if (ctl_client_process(c))
		ctl_client_arm(c);
}

static void ctl_client_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ctl_client *c = w->data;

	if (c->out)
		log_info("ctl", "client uid %u pid %d: reply not read within %.0f s, disconnecting",
			 (unsigned)c->peer.uid, (int)c->peer.pid, c->ctl->write_timeout);
	else if (hk_proto_decoder_partial(&c->dec))
		log_info("ctl", "client uid %u pid %d: request not completed within %.0f s, disconnecting",
			 (unsigned)c->peer.uid, (int)c->peer.pid, c->ctl->read_timeout);
	else
		log_debug("ctl", "client uid %u pid %d: idle for %.0f s, disconnecting",
			  (unsigned)c->peer.uid, (int)c->peer.pid, ctl_idle_timeout(c));
	ctl_client_free(c);
}

/* Refuse a connection with one error frame, best effort, never blocking. */
static void ctl_refuse(int fd, int code, const char *message)
{
	json_t *msg = hk_proto_response_error(-1, code, message, NULL);
	char *frame = NULL;
	size_t len = 0;

	if (msg && hk_proto_frame_encode(msg, HK_PROTO_MAX_RESPONSE, &frame, &len) == 0) {
		ssize_t n = send(fd, frame, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		(void)n;
	}
	json_decref(msg);
	free(frame);
	close(fd);
}

/* The listening socket is in the urgent set while it is accepted from. */
static void ctl_urgent_listen(struct hk_ctl *ctl, bool on)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	epoll_ctl(ctl->urgent_ep, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, ctl->fd, &ev);
}

static void ctl_backoff_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct hk_ctl *ctl = w->data;

	ev_io_start(loop, &ctl->accept_w);
	ctl_urgent_listen(ctl, true);
}

/* Take a slot for a new connection (fair.h) or refuse it: the error frame
 * goes to the caller, a log line at most every HK_FAIR_LOG_INTERVAL per
 * uid, since refusals come as fast as a client can connect. */
static bool ctl_admit(struct hk_ctl *ctl, int fd, const struct ucred *cred)
{
	enum hk_fair_verdict v = hk_fair_client_add(ctl->fair, cred->uid);
	size_t suppressed = 0;
	char *msg;

	if (v == HK_FAIR_OK)
		return true;
	if (v == HK_FAIR_UID_CAP)
		msg = hk_xasprintf("too many connections of uid %u (at most %d); close one or try "
				   "again later", (unsigned)cred->uid, HK_FAIR_UID_CLIENTS);
	else
		msg = hk_xasprintf("too many clients (%zu connected); try again later",
				   hk_fair_total(ctl->fair));
	if (hk_fair_log_due(ctl->fair, cred->uid, ev_now(ctl->loop), &suppressed))
		log_warnx("ctl", "%s: uid %u pid %d refused: %s (%zu more refusals of this uid "
			  "since the last line)", ctl->path, (unsigned)cred->uid, (int)cred->pid, msg,
			  suppressed);
	ctl_refuse(fd, HK_EBUSY, msg);
	free(msg);
	return false;
}

static void ctl_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct hk_ctl *ctl = w->data;

	for (int i = 0; i < 16; i++) {
		struct ucred cred;
		socklen_t clen = sizeof(cred);
		int fd = accept4(ctl->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* out of descriptors: pause accepting instead of spinning */
				log_warn("ctl", "%s: accept", ctl->path);
				ev_io_stop(loop, &ctl->accept_w);
				ctl_urgent_listen(ctl, false);
				ev_timer_stop(loop, &ctl->backoff_w);
				ev_timer_set(&ctl->backoff_w, HK_CTL_ACCEPT_BACKOFF, 0.0);
				ev_timer_start(loop, &ctl->backoff_w);
				return;
			}
			log_warn("ctl", "%s: accept", ctl->path);
			return;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0) {
			log_warn("ctl", "%s: SO_PEERCRED", ctl->path);
			close(fd);
			continue;
		}
		if (!ctl_admit(ctl, fd, &cred))
			continue;
		struct ctl_client *c = hk_xcalloc(1, sizeof(*c));
		c->ctl = ctl;
		c->fd = fd;
		c->peer.uid = cred.uid;
		c->peer.gid = cred.gid;
		c->peer.pid = cred.pid;
		c->last_activity = c->partial_since = ev_now(loop);
		hk_proto_decoder_init(&c->dec, HK_PROTO_MAX_REQUEST);
		ev_io_init(&c->rio, ctl_client_read_cb, fd, EV_READ);
		ev_io_init(&c->wio, ctl_client_write_cb, fd, EV_WRITE);
		ev_init(&c->timer, ctl_client_timer_cb);
		c->rio.data = c->wio.data = c->timer.data = c;
		c->next = ctl->clients;
		if (ctl->clients)
			ctl->clients->prev = c;
		ctl->clients = c;
		ctl->n_clients++;
		log_debug("ctl", "client connected: uid %u gid %u pid %d", (unsigned)cred.uid,
			  (unsigned)cred.gid, (int)cred.pid);
		ctl_client_arm(c);
		/* a client writes its request right after connect(): it is
		 * usually here already, and waiting for the next poll to read
		 * it would add a whole loop iteration (under load, the larger
		 * part of a status call's latency) */
		ctl_client_read_cb(loop, &c->rio, EV_READ);
	}
}

/* mkdir -p the parent of path, each new directory 0755. */
static int ctl_mkparent(const char *path, char **cause)
{
	char *dir = hk_xstrdup(path);
	char *slash = strrchr(dir, '/');
	int r = 0;
	struct stat st;

	if (!slash || slash == dir)
		goto out;
	*slash = '\0';
	for (char *p = dir + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
				r = -errno;
				*cause = hk_xasprintf("%s: cannot create directory: %s", dir, strerror(errno));
				goto out;
			}
			*p = c;
			if (!c)
				break;
		}
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		r = -ENOTDIR;
		*cause = hk_xasprintf("%s: not a directory", dir);
	}
out:
	free(dir);
	return r;
}

/* Is something listening on the socket at path? */
static bool ctl_socket_alive(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	bool alive;

	if (fd < 0)
		return false;
	alive = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 || errno == EAGAIN;
	close(fd);
	return alive;
}

int hk_ctl_create(struct ev_loop *loop, const char *path, mode_t mode, gid_t gid,
		  const struct hk_ctl_ops *ops, void *ops_ctx, struct hk_ctl **out, char **cause)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct hk_ctl *ctl = NULL;
	struct stat st;
	mode_t old_umask;
	int fd = -1, r;

	*out = NULL;
	*cause = NULL;
	if (!path || !*path || strlen(path) >= sizeof(sa.sun_path)) {
		*cause = hk_xasprintf("%s: socket path empty or too long (at most %zu bytes)",
				      path ? path : "", sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	r = ctl_mkparent(path, cause);
	if (r < 0)
		return r;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			*cause = hk_xasprintf("%s: exists and is not a socket; refusing to replace it", path);
			return -EEXIST;
		}
		if (ctl_socket_alive(&sa)) {
			*cause = hk_xasprintf("%s: another server is listening on this socket", path);
			return HK_EBUSY;
		}
		if (unlink(path) < 0 && errno != ENOENT) {
			r = -errno;
			*cause = hk_xasprintf("%s: cannot remove stale socket: %s", path, strerror(errno));
			return r;
		}
	} else if (errno != ENOENT) {
		r = -errno;
		*cause = hk_xasprintf("%s: %s", path, strerror(errno));
		return r;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		*cause = hk_xasprintf("%s: socket: %s", path, strerror(errno));
		return r;
	}
	/* the mode comes from the umask at bind time: no window with wider access */
	old_umask = umask((mode_t)(~mode & 0777));
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_umask);
	if (r < 0) {
		r = -errno;
		*cause = hk_xasprintf("%s: bind: %s", path, strerror(errno));
		goto fail;
	}
	if (gid != (gid_t)-1 && fchownat(AT_FDCWD, path, (uid_t)-1, gid, AT_SYMLINK_NOFOLLOW) < 0) {
		r = -errno;
		*cause = hk_xasprintf("%s: cannot set group %u: %s", path, (unsigned)gid, strerror(errno));
		unlink(path);
		goto fail;
	}
	if (lstat(path, &st) < 0 || listen(fd, 128) < 0) {
		r = -errno;
		*cause = hk_xasprintf("%s: listen: %s", path, strerror(errno));
		unlink(path);
		goto fail;
	}
	ctl = hk_xcalloc(1, sizeof(*ctl));
	ctl->urgent_ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event lev = { .events = EPOLLIN, .data.ptr = NULL };
	if (ctl->urgent_ep < 0 || epoll_ctl(ctl->urgent_ep, EPOLL_CTL_ADD, fd, &lev) < 0) {
		r = -errno;
		*cause = hk_xasprintf("%s: epoll: %s", path, strerror(errno));
		unlink(path);
		if (ctl->urgent_ep >= 0)
			close(ctl->urgent_ep);
		free(ctl);
		goto fail;
	}
	ctl->loop = loop;
	ctl->fd = fd;
	ctl->path = hk_xstrdup(path);
	ctl->dev = st.st_dev;
	ctl->ino = st.st_ino;
	ctl->ops = ops;
	ctl->ops_ctx = ops_ctx;
	ctl->read_timeout = HK_CTL_READ_TIMEOUT;
	ctl->write_timeout = HK_CTL_WRITE_TIMEOUT;
	ctl->idle_timeout = HK_CTL_IDLE_TIMEOUT;
	ctl->user_idle_timeout = HK_FAIR_IDLE_TIMEOUT;
	ctl->fair = hk_fair_create(HK_CTL_MAX_CLIENTS, HK_FAIR_ROOT_SLOTS, HK_FAIR_UID_CLIENTS);
	ev_io_init(&ctl->accept_w, ctl_accept_cb, fd, EV_READ);
	ctl->accept_w.data = ctl;
	ev_init(&ctl->backoff_w, ctl_backoff_cb);
	ctl->backoff_w.data = ctl;
	ev_idle_init(&ctl->resume, ctl_resume_cb);
	ctl->resume.data = ctl;
	ev_set_priority(&ctl->resume, EV_MAXPRI);   /* libev runs only the top idles */
	ev_io_start(loop, &ctl->accept_w);
	log_debug("ctl", "%s: listening (mode %04o)", path, (unsigned)mode);
	*out = ctl;
	return 0;
fail:
	close(fd);
	return r;
}

void hk_ctl_free(struct hk_ctl *ctl)
{
	struct stat st;

	if (!ctl)
		return;
	while (ctl->clients)
		ctl_client_free(ctl->clients);
	ev_io_stop(ctl->loop, &ctl->accept_w);
	ev_timer_stop(ctl->loop, &ctl->backoff_w);
	ev_idle_stop(ctl->loop, &ctl->resume);
	close(ctl->urgent_ep);
	close(ctl->fd);
	if (lstat(ctl->path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == ctl->dev &&
	    st.st_ino == ctl->ino)
		unlink(ctl->path);
	hk_fair_free(ctl->fair);
	free(ctl->path);
	free(ctl);
}

void hk_ctl_set_timeouts(struct hk_ctl *ctl, double read_timeout, double write_timeout,
			 double idle_timeout)
{
	ctl->read_timeout = read_timeout;
	ctl->write_timeout = write_timeout;
	ctl->idle_timeout = idle_timeout;
}

void hk_ctl_set_user_idle_timeout(struct hk_ctl *ctl, double idle_timeout)
{
	ctl->user_idle_timeout = idle_timeout;
}

size_t hk_ctl_clients(const struct hk_ctl *ctl)
{
	return ctl->n_clients;
}

int hk_ctl_urgent_fd(const struct hk_ctl *ctl)
{
	return ctl->urgent_ep;
}

void hk_ctl_serve_urgent(struct hk_ctl *ctl)
{
	struct epoll_event evs[HK_CTL_MAX_CLIENTS + 1];

	if (ctl->urgent || ctl->in_request)
		return;   /* never from inside itself, nor from inside a request */
	int n = epoll_wait(ctl->urgent_ep, evs, (int)HK_ARRAY_SIZE(evs), 0);
	if (n <= 0)
		return;
	ctl->urgent = true;
	for (int i = 0; i < n; i++) {
		struct ctl_client *c = evs[i].data.ptr;
		/* each client is in evs once, and only a client's own callback
		 * frees it: the others stay valid */
		if (!c) {
			if (ev_is_active(&ctl->accept_w))   /* not while backing off */
				ctl_accept_cb(ctl->loop, &ctl->accept_w, EV_READ);
		} else if (ev_is_active(&c->rio)) {
			ctl_client_read_cb(ctl->loop, &c->rio, EV_READ);
		}
	}
	ctl->urgent = false;
}
