/*
 * ctl_jobs.c - the job handlers (run_cleanup, wait_job, jobs) of the
 * control server (ctl.h); their answers come later (ctl_reply.c's
 * deferred replies).
 */
#include "autoconfig.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ctl_int.h"
#include "fair.h"
#include "log.h"
#include "util.h"

/* Handlers ------------------------------------------------------------------------ */

/* A non-root uid's run takes a token of its bucket (fair.h): a sweep and
 * its report cost the daemon far more than the request, and 671 dry runs
 * in 10 s by one user used to fill the state disk with reports. The
 * refusal is logged at most once per HK_FAIR_LOG_INTERVAL per uid. */
static bool ctl_run_allowed(const struct hk_ctl_request *req, struct hk_ctl_reply *reply)
{
	double wait = 0;
	size_t suppressed = 0;

	if (!req->fair || hk_fair_run_take(req->fair, req->peer.uid, req->now, &wait))
		return true;
	hk_ctl_reply_set_error(reply, HK_EBUSY,
			       "run_cleanup: rate limited: uid %u may start %.0f run(s) a second, "
			       "at most %.0f at once; try again in %.0f s",
			       (unsigned)req->peer.uid, HK_FAIR_RUN_RATE, HK_FAIR_RUN_BURST,
			       wait < 1 ? 1 : wait);
	reply->quiet = true;
	if (hk_fair_log_due(req->fair, req->peer.uid, req->now, &suppressed))
		log_notice("ctl", "uid %u pid %d: run refused, rate limited (%zu more refusals of "
			   "this uid since the last line)", (unsigned)req->peer.uid, (int)req->peer.pid, suppressed);
	return false;
}

void ctl_op_run(const struct hk_ctl_ops *ops, void *ctx, const struct hk_ctl_request *req,
		struct hk_ctl_reply *reply)
{
	static const char *const allowed[] = { "id", "dry_run", "no_wait", NULL };
	struct hk_registration *reg = NULL;
	struct hk_ctl_pending *pending = NULL;
	const char *id;
	bool dry_run, no_wait;
	uint64_t job_id = 0;
	char *cause = NULL;
	int r;

	if (!ctl_args_only(req, reply, allowed) || !ctl_arg_id(req, reply, false, &id) ||
	    !ctl_arg_bool(req, reply, "dry_run", &dry_run) ||
	    !ctl_arg_bool(req, reply, "no_wait", &no_wait))
		return;
	if (!dry_run && !id && req->peer.uid != 0) {
		hk_ctl_reply_set_error(reply, HK_EDENIED,
				       "only root may run every registration; give an id or dry_run");
		return;
	}
	if (id) {
		/* a real run is a change, and a dry run's report lists the
		 * registration's files: either only of the caller's own */
		reg = ctl_get_changeable(ops, ctx, req, reply, id, true, true, "run it");
		if (!reg)
			return;
		id = reg->id;   /* a name resolved: the job records the id */
	}
	if (!ctl_run_allowed(req, reply))
		goto out;
	if (!no_wait)
		pending = hk_ctl_reply_defer(reply);
	/* without an id, the op sweeps only the peer's own registrations
	 * unless it is root (ctl.h) */
	r = ops->run_cleanup(ctx, id, dry_run, &req->peer, pending, &job_id, &cause);
	if (r < 0) {
		hk_ctl_reply_undefer(reply);
		ctl_reply_op_error(reply, r, cause);
		goto out;
	}
	free(cause);
	if (!dry_run)
		log_info("ctl", "%s: cleanup run (job %" PRIu64 ") by uid %u pid %d",
			 id ? id : "all registrations", job_id, (unsigned)req->peer.uid,
			 (int)req->peer.pid);
	if (no_wait)
		hk_ctl_reply_set_result(reply, json_pack("{s:I}", "job_id", (json_int_t)job_id));
out:
	hk_registration_free(reg);
}

/* args["job_id"]: a positive integer. */
static bool ctl_arg_job_id(const struct hk_ctl_request *req, struct hk_ctl_reply *reply,
			   uint64_t *id)
{
	const json_t *v = json_object_get(req->args, "job_id");

	if (!json_is_integer(v) || json_integer_value(v) <= 0) {
		hk_ctl_reply_set_error(reply, -EINVAL, "%s: %s argument 'job_id' (a job number)",
				       req->op, v ? "invalid" : "missing");
		return false;
	}
	*id = (uint64_t)json_integer_value(v);
	return true;
}

void ctl_op_wait_job(const struct hk_ctl_ops *ops, void *ctx, const struct hk_ctl_request *req,
		     struct hk_ctl_reply *reply)
{
	static const char *const allowed[] = { "job_id", "timeout", NULL };
	const json_t *t = json_object_get(req->args, "timeout");
	double timeout = -1;
	uint64_t id;
	uid_t owner = 0;
	int r;

	if (!ctl_args_only(req, reply, allowed) || !ctl_arg_job_id(req, reply, &id))
		return;
	if (t && !json_is_null(t)) {
		if (!json_is_number(t) || !(json_number_value(t) >= 0) ||
		    !isfinite(json_number_value(t))) {
			hk_ctl_reply_set_error(reply, -EINVAL,
					       "wait_job: 'timeout' must be seconds (a non-negative number)");
			return;
		}
		timeout = json_number_value(t);
	}
	if (!ops->job_owner) {
		hk_ctl_reply_set_error(reply, -ENOSYS, "wait_job: not implemented by this daemon");
		return;
	}
	r = ops->job_owner(ctx, id, &owner);
	if (r < 0) {
		hk_ctl_reply_set_error(reply, r, r == HK_ENOTFOUND ? "no job with id %" PRIu64
				       : "job %" PRIu64 ": cannot be found", id);
		return;
	}
	if (req->peer.uid != 0 && owner != req->peer.uid) {
		hk_ctl_reply_set_error(reply, HK_EDENIED,
				       "job %" PRIu64 " was not started by the caller (uid %u)", id,
				       (unsigned)req->peer.uid);
		return;
	}
	struct hk_ctl_pending *pending = hk_ctl_reply_defer(reply);
	r = ops->wait_job(ctx, id, timeout, pending);
	if (r < 0) {
		hk_ctl_reply_undefer(reply);
		hk_ctl_reply_set_error(reply, r, NULL);
	}
}

void ctl_op_jobs(const struct hk_ctl_ops *ops, void *ctx, const struct hk_ctl_request *req,
		 struct hk_ctl_reply *reply)
{
	static const char *const allowed[] = { "limit", NULL };
	const json_t *l = json_object_get(req->args, "limit");
	json_t *out = NULL;
	size_t limit = 0;

	if (!ctl_args_only(req, reply, allowed))
		return;
	if (l && !json_is_null(l)) {
		if (!json_is_integer(l) || json_integer_value(l) <= 0) {
			hk_ctl_reply_set_error(reply, -EINVAL, "jobs: 'limit' must be a positive integer");
			return;
		}
		limit = (size_t)json_integer_value(l);
	}
	int r = ops->jobs(ctx, limit, &out);

	if (r >= 0 && json_is_array(out))
		ctl_add_names(ops, ctx, out, "registration_id", "registration_name");
	ctl_reply_json(reply, r, out, NULL, true);
}
