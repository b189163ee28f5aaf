#pragma once

/* Process exit codes; scripts and Packer/Ansible depend on these numbers. */
enum {
        EXIT_OK = 0,             /* done / healthy */
        EXIT_FAILED = 1,         /* a step or check failed; state kept */
        EXIT_DRIFT = 2,          /* verify found drift */
        EXIT_REBOOT_PENDING = 3, /* a reboot must happen before the run can go on */
        EXIT_USAGE = 64,         /* bad command line */
        EXIT_INVALID_PLAN = 65,  /* the plan is refused before anything runs */
        EXIT_BUSY = 75,          /* another agent, or a lock timeout */
        EXIT_SIGINT = 130,       /* stopped by SIGINT (128 + 2); the step is recorded as interrupted */
        EXIT_SIGTERM = 143,      /* stopped by SIGTERM (128 + 15); the same */
};
