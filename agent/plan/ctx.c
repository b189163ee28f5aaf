#include "plan/ctx.h"

static const char *const reboot_mode_table[_REBOOT_MODE_MAX] = {
        [REBOOT_NOW] = "now",
        [REBOOT_EXIT] = "exit",
        [REBOOT_NEVER] = "never",
};

const char *reboot_mode_to_string(RebootMode m) {
        return m >= 0 && m < _REBOOT_MODE_MAX ? reboot_mode_table[m] : NULL;
}

RebootMode reboot_mode_from_string(const char *s) {
        for (int i = 0; s && i < _REBOOT_MODE_MAX; i++)
                if (streq(reboot_mode_table[i], s))
                        return (RebootMode) i;
        return _REBOOT_MODE_INVALID;
}
