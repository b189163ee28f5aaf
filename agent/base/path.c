#include "base/path.h"

size_t path_next_component(const char **p, const char **ret) {
        const char *s = *p + strspn(*p, "/");
        size_t n = strcspn(s, "/");

        *ret = s;
        *p = s + n;
        return n;
}

bool path_has_dotdot(const char *path) {
        const char *c;
        size_t n;

        for (const char *p = path; (n = path_next_component(&p, &c)) > 0;)
                if (component_is_dotdot(c, n))
                        return true;
        return false;
}
