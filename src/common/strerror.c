#include <string.h>

#include "weft/common.h"

WEFT_API const char *weft_strerror(int code)
{
    if (code < 0)
        code = -code;
    switch (code) {
    case 0:
        return "success";
    case ETIMEDOUT:
        return "timed out";
    case EBUSY:
        return "busy: not available without waiting";
    case EDEADLK:
        return "would deadlock";
    case EPERM:
        return "not held by the caller";
    case WEFT_EBROKEN:
        return "broken (barrier broken, or peer gone)";
    case WEFT_ESHUTDOWN:
        return "shut down";
    case ECANCELED:
        return "cancelled";
    case EOVERFLOW:
        return "released too many times, or value too large";
    default:
        /* strerrordesc_np is thread-safe and returns a static string (glibc 2.32+). */
        {
            const char *s = strerrordesc_np(code);
            return s ? s : "unknown error";
        }
    }
}

WEFT_API const char *weft_version(void)
{
    return "0.1.0";
}
