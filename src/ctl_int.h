/*
 * ctl_int.h - private to the control server's files (ctl.c: socket,
 * clients, authorization, dispatch; ctl_jobs.c: deferred replies and the
 * job handlers). ctl.h is the public API.
 */
#ifndef HK_CTL_INT_H
#define HK_CTL_INT_H

#include <stdbool.h>

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
/* Registration id for a caller that must be allowed to change (or run)
 * it; NULL with the reply set. The copy is the caller's. */
struct hk_registration *ctl_get_changeable(const struct hk_ctl_ops *ops, void *ctx,
					   const struct hk_ctl_request *req,
					   struct hk_ctl_reply *reply, const char *id, bool config_ok,
					   bool check_owner, const char *verb);

/* The job handlers (ctl_jobs.c). */
void ctl_op_run(const struct hk_ctl_ops *ops, void *ctx, const struct hk_ctl_request *req,
		struct hk_ctl_reply *reply);
void ctl_op_wait_job(const struct hk_ctl_ops *ops, void *ctx, const struct hk_ctl_request *req,
		     struct hk_ctl_reply *reply);
void ctl_op_jobs(const struct hk_ctl_ops *ops, void *ctx, const struct hk_ctl_request *req,
		 struct hk_ctl_reply *reply);

#endif /* HK_CTL_INT_H */
