/*
 * ctl_int.h - private to the control server's files: ctl.c (socket,
 * clients, deadlines, back-off), ctl_ops.c (handlers, dispatch, a
 * request's payload to its frame), ctl_jobs.c (deferred replies and the
 * job handlers), ctl_auth.c (who may change and read what), ctl_reply.c
 * (reply sink, argument checks). ctl.h is the public API.
 */
#ifndef HK_CTL_INT_H
#define HK_CTL_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "ctl.h"

typedef void (*ctl_handler_fn)(const struct hk_ctl_ops *ops, void *ctx,
			       const struct hk_ctl_request *req, struct hk_ctl_reply *reply);

/* Argument helpers: false with the reply set on a bad argument. */
bool ctl_args_only(const struct hk_ctl_request *req, struct hk_ctl_reply *reply,
		   const char *const *allowed);
bool ctl_arg_id(const struct hk_ctl_request *req, struct hk_ctl_reply *reply, bool required,
		const char **id);
bool ctl_arg_bool(const struct hk_ctl_request *req, struct hk_ctl_reply *reply, const char *key,
		  bool *out);
/* Set an error from an op's return code and optional cause (freed). */
void ctl_reply_op_error(struct hk_ctl_reply *reply, int code, char *cause);
/* A read op's JSON value (of the expected type) or its error. */
void ctl_reply_json(struct hk_ctl_reply *reply, int r, json_t *out, char *cause, bool want_array);
/* Names shown where ids are: each object of arr gets name_key, the name of
 * the registration whose id is its id_key (null when that is null, not
 * registered any more or has no name); one lookup per distinct id. */
void ctl_add_names(const struct hk_ctl_ops *ops, void *ctx, json_t *arr, const char *id_key,
		   const char *name_key);
/* Authorization (ctl_auth.c). A registration's checks shared by register
 * and update (the directory as the caller may name it, root-only keys):
 * false with the reply set. */
bool ctl_check_registration(const struct hk_ctl_request *req, struct hk_ctl_reply *reply,
			    const struct hk_registration *reg, unsigned set);
/* Is registration id the caller's own, for reads that show files? seen
 * caches the answers by id (a JSON object of booleans). */
bool ctl_peer_owns(const struct hk_ctl_ops *ops, void *ctx, const struct hk_ctl_peer *peer,
		   const char *id, json_t *seen);
/* explain for a non-root caller: only its own registrations' results. */
void ctl_redact_explain(const struct hk_ctl_ops *ops, void *ctx, const struct hk_ctl_peer *peer,
			json_t *out);
/* audit for a non-root caller: the visible() filter of the store's scan,
 * arg a struct ctl_audit_vis. */
struct ctl_audit_vis {
	const struct hk_ctl_ops *ops;
	void *ctx;
	const struct hk_ctl_peer *peer;
	json_t *seen;
};
bool ctl_redact_audit(const char *reg_id, void *arg);
/* Registration id for a caller that must be allowed to change (or run)
 * it; NULL with the reply set. The copy is the caller's. */
struct hk_registration *ctl_get_changeable(const struct hk_ctl_ops *ops, void *ctx,
					   const struct hk_ctl_request *req,
					   struct hk_ctl_reply *reply, const char *id, bool config_ok,
					   bool check_owner, const char *verb);

/* One request's way (ctl_ops.c): a message as a frame (too large: an
 * error frame instead); a reply as the frame of request id, its raw text
 * in *body when body is not NULL (sent after the frame as it is); a
 * payload parsed and dispatched, its answer in *frame, or, when the
 * handler deferred it and pending is not NULL, *pending and *req_id set
 * instead (*frame NULL) for the server to wait on. busy: too many unread
 * replies: the request is refused. */
struct hk_fair;
void ctl_encode(json_t *msg, int64_t id, char **frame, size_t *frame_len);
void ctl_reply_encode(int64_t id, struct hk_ctl_reply *reply, char **frame, size_t *frame_len,
		      char **body, size_t *body_len);
/* Is op (a request's "op") a query whose answer can be large, to be
 * answered within the per-iteration budget (ctl_ops.c's table)? */
bool ctl_op_heavy(const char *op);
/* May op be answered while the engine is in the middle of long work? */
bool ctl_op_urgent(const char *op);
void ctl_handle_payload(const struct hk_ctl_ops *ops, void *ops_ctx, const struct hk_ctl_peer *peer,
			struct hk_fair *fair, double now, bool busy, const char *text, size_t len,
			char **frame, size_t *frame_len, struct hk_ctl_pending **pending,
			int64_t *req_id);

/* The job handlers (ctl_jobs.c). */
void ctl_op_run(const struct hk_ctl_ops *ops, void *ctx, const struct hk_ctl_request *req,
		struct hk_ctl_reply *reply);
void ctl_op_wait_job(const struct hk_ctl_ops *ops, void *ctx, const struct hk_ctl_request *req,
		     struct hk_ctl_reply *reply);
void ctl_op_jobs(const struct hk_ctl_ops *ops, void *ctx, const struct hk_ctl_request *req,
		 struct hk_ctl_reply *reply);

#endif /* HK_CTL_INT_H */
