/* mock_pages.h: the paginated and nested endpoints of `flurry mock`
 * (mock_pages.c), for pagination, fan-out and --join. Deterministic data:
 * item i is {"id":i,"name":"Item i"}; user u has posts u .. u + u%3
 * (neighbours share posts); post p has 1 + p%3 comments, ids 10p+k; user u
 * wrote u%4 comments, ids 100000+10u+k. Internal to the flurry binary. */
#ifndef FLURRY_MOCK_PAGES_H
#define FLURRY_MOCK_PAGES_H

#include "mock_int.h"

/* /items, /items/cursor, /items/offset, /items/loop, /items/link,
 * /items/stats */
void mock_items(mock_server *m, httpd_req *req, const char *arg);
void mock_items_cursor(mock_server *m, httpd_req *req, const char *arg);
void mock_items_offset(mock_server *m, httpd_req *req, const char *arg);
void mock_items_loop(mock_server *m, httpd_req *req, const char *arg);
void mock_items_link(mock_server *m, httpd_req *req, const char *arg);
void mock_items_stats(mock_server *m, httpd_req *req, const char *arg);
/* /users/{id}/posts and /users/{id}/comments: arg "7/posts". Returns 1 when
 * it answered, 0 when arg is not one of them. */
int mock_user_sub(mock_server *m, httpd_req *req, const char *arg);
/* /posts/{id}, /posts/{id}/comments */
void mock_post(mock_server *m, httpd_req *req, const char *arg);

#endif
