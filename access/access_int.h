/*
 * access_int.h — access/'s internals shared between its files: the handlers
 * that routes.c puts in the route table, and small helpers for JSON replies.
 * Not for other folders: they use access.h and audit.h.
 */
#ifndef ATTUNE_ACCESS_INT_H
#define ATTUNE_ACCESS_INT_H

#include "access.h"
#include "http.h"

/* login.c */
void acc_login_get(struct http_request *req, struct http_reply *rep);
void acc_login_post(struct http_request *req, struct http_reply *rep);
void acc_logout_post(struct http_request *req, struct http_reply *rep);
void acc_account_get(struct http_request *req, struct http_reply *rep);

/* api.c */
void acc_api_session(struct http_request *req, struct http_reply *rep);
void acc_api_studies(struct http_request *req, struct http_reply *rep);
void acc_api_study(struct http_request *req, struct http_reply *rep);
void acc_api_participants(struct http_request *req, struct http_reply *rep);
void acc_api_participants_csv(struct http_request *req, struct http_reply *rep);
void acc_api_withdraw(struct http_request *req, struct http_reply *rep);
void acc_api_me_withdraw(struct http_request *req, struct http_reply *rep);
void acc_api_audit(struct http_request *req, struct http_reply *rep);
void acc_api_tokens(struct http_request *req, struct http_reply *rep);
void acc_api_token_create(struct http_request *req, struct http_reply *rep);
void acc_api_token_revoke(struct http_request *req, struct http_reply *rep);

/* Answers 503 (database unavailable or busy) or 500 for a failed query, logging once. */
void acc_reply_db_error(struct http_request *req, struct http_reply *rep, const struct err *e);

#endif
