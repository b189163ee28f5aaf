#include "base/term.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "base/util.h"

unsigned term_columns(int fd) {
        struct winsize ws = {0};
        if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
                return ws.ws_col;
        unsigned n = 0;
        const char *e = getenv("COLUMNS");
        if (e && parse_uint(e, &n) == 0 && n > 0)
                return n;
        return 80;
}

/* Every byte but a UTF-8 continuation byte starts a character; each takes one column (the texts
 * gpubase prints are ASCII plus a few dashes and quotes, none of them wide). */
size_t term_width(const char *s) {
        size_t n = 0;
        for (; *s; s++)
                if (((unsigned char) *s & 0xC0) != 0x80)
                        n++;
        return n;
}

char *term_fit(const char *s, size_t cols) {
        if (term_width(s) <= cols)
                return xstrdup(s);
        if (cols == 0)
                return xstrdup("");
        size_t n = 0, i = 0;
        for (; s[i]; i++) {
                if (((unsigned char) s[i] & 0xC0) != 0x80) {
                        if (n == cols - 1)
                                break; /* room for the ellipsis */
                        n++;
                }
        }
        return xasprintf("%.*s…", (int) i, s);
}
