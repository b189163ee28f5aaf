#include "plan/ctx.h"

#include "base/string_table.h"

static const char *const reboot_mode_table[_REBOOT_MODE_MAX] = {
        [REBOOT_NOW] = "now",
        [REBOOT_EXIT] = "exit",
        [REBOOT_NEVER] = "never",
};

DEFINE_STRING_TABLE_LOOKUP(reboot_mode, RebootMode, NULL)
