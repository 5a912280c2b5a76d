/* api/openapi.c — the OpenAPI document, compiled in from api/openapi.json
 * (cmake/embed.cmake). tests/it_serve.py checks that every route served is
 * documented there and every documented route is served. */
#include "api/routes.h"

extern const char ragd_openapi_json[];

const char *api_openapi_document(void)
{
    return ragd_openapi_json;
}
