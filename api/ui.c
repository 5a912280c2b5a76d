/* api/ui.c — GET /ui: the web playground (docs/compat.md, "Web playground").
 *
 * One self-contained HTML page, api/ui.html (inline CSS and JavaScript, no
 * CDN, no build step), compiled into the binary by cmake/embed.cmake. The
 * page needs no key to be served; it calls only the public /v1 API with
 * the key typed into it (sent as Authorization: Bearer), so it can do no
 * more than that key can. A Content-Security-Policy header holds the page
 * to that: inline script and style only, network requests to this origin
 * only, no frames, forms or base URL.
 */
#include <stdio.h>

#include "api/routes.h"
#include "core/buf.h"

extern const char ragd_ui_html[];

ragd_status api_ui_page(api_call *c, api_reply *r, ragd_error *err)
{
    (void)c;
    (void)err;
    r->text = ragd_xstrdup(ragd_ui_html);
    r->content_type = "text/html; charset=utf-8";
    r->header_name = "Content-Security-Policy";
    snprintf(r->header_value, sizeof r->header_value, "%s",
             "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
             "img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
             "frame-ancestors 'none'");
    return RAGD_OK;
}
