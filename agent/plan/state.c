#include "plan/state.h"

#include <errno.h>
#include <json-c/json.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/error.h"
#include "base/jsontext.h"
#include "base/strset.h"
#include "base/string_table.h"
#include "host/host.h"
#include "plan/secret_vars.h"
#include "plan/step_kind.h"

static const char *const run_state_table[_RUN_STATE_MAX] = {
        [RUN_IDLE] = "idle",
        [RUN_RUNNING] = "running",
        [RUN_REBOOT_PENDING] = "reboot-pending",
        [RUN_DONE] = "done",
        [RUN_FAILED] = "failed",
        [RUN_INTERRUPTED] = "interrupted",
        [RUN_BUSY] = "busy",
};

static const char *const step_state_table[_STEP_STATE_MAX] = {
        [STEP_PENDING] = "pending",
        [STEP_RUNNING] = "running",
        [STEP_DONE] = "done",
        [STEP_SKIPPED] = "skipped",
        [STEP_FAILED] = "failed",
        [STEP_REBOOT_REQUESTED] = "reboot-requested",
        [STEP_INTERRUPTED] = "interrupted",
};

DEFINE_STRING_TABLE_LOOKUP(run_state, RunState, NULL)
DEFINE_STRING_TABLE_LOOKUP(step_state, StepState, NULL)

/* Which states a step may be in, by what its kind is (rows: an ordinary kind, a reboot kind). A
 * state that breaks this was not written by gpubase: a gate or a command "reboot-requested" would
 * be taken for a reboot step after the reboot (and a command recorded done without running). */
static const bool kind_states[2][_STEP_STATE_MAX] = {
        [false] = {[STEP_PENDING] = true, [STEP_RUNNING] = true, [STEP_DONE] = true, [STEP_SKIPPED] = true,
                   [STEP_FAILED] = true, [STEP_INTERRUPTED] = true},
        [true] = {[STEP_PENDING] = true, [STEP_RUNNING] = true, [STEP_DONE] = true, [STEP_SKIPPED] = true,
                  [STEP_FAILED] = true, [STEP_REBOOT_REQUESTED] = true, [STEP_INTERRUPTED] = true},
};

bool step_state_valid_for_kind(const StepKind *kind, StepState state) {
        return kind && state >= 0 && state < _STEP_STATE_MAX && kind_states[kind->reboot][state];
}

void step_record_set(char **field, const char *value) {
        free(*field);
        *field = value ? xstrdup(value) : NULL;
}

static void step_record_done(StepRecord *r) {
        free(r->id);
        free(r->kind);
        free(r->digest);
        free(r->detail);
        free(r->error);
        free(r->reboot_boot_id);
}

State *state_free(State *s) {
        if (!s)
                return NULL;
        free(s->plan_path);
        free(s->plan_sha256);
        free(s->plan_name);
        strv_free(s->vars);
        free(s->bundle);
        free(s->image);
        free(s->run_id);
        free(s->boot_id);
        free(s->error);
        for (size_t i = 0; i < s->n_steps; i++)
                step_record_done(&s->steps[i]);
        free(s->steps);
        free(s);
        return NULL;
}

static void init_record(StepRecord *r, const Step *st) {
        *r = (StepRecord){0};
        r->id = xstrdup(st->id);
        r->kind = xstrdup(st->kind->name);
        r->digest = xstrdup(st->digest);
        r->state = STEP_PENDING;
}

int state_new(const Plan *p, State **ret) {
        char id[33];
        int r = random_id(id);
        if (r < 0)
                return r;
        State *s = xcalloc(1, sizeof(State));
        s->plan_path = xstrdup(p->path);
        s->plan_sha256 = xstrdup(p->sha256);
        s->plan_name = xstrdup(p->name);
        s->vars = secret_vars_masked(p) /* a secret one as NAME=<redacted> */;
        s->run_id = xstrdup(id);
        s->run_state = RUN_IDLE;
        s->created = now_usec();
        s->steps = xcalloc(p->n_steps, sizeof(StepRecord));
        s->n_steps = p->n_steps;
        for (size_t i = 0; i < p->n_steps; i++)
                init_record(&s->steps[i], &p->steps[i]);
        *ret = s;
        return 0;
}

StepRecord *state_find_step(State *s, const char *id) {
        for (size_t i = 0; i < s->n_steps; i++)
                if (s->steps[i].id && streq(s->steps[i].id, id)) /* a replan leaves moved records empty */
                        return &s->steps[i];
        return NULL;
}

void state_replan(State *s, const Plan *p) {
        StepRecord *n = xcalloc(p->n_steps, sizeof(StepRecord));
        for (size_t i = 0; i < p->n_steps; i++) {
                const Step *st = &p->steps[i];
                StepRecord *old = state_find_step(s, st->id);
                if (old && streq(old->kind, st->kind->name) && old->digest && streq(old->digest, st->digest) &&
                    (old->state == STEP_DONE || old->state == STEP_SKIPPED || old->state == STEP_REBOOT_REQUESTED)) {
                        n[i] = *old;
                        *old = (StepRecord){0};
                } else
                        init_record(&n[i], st);
        }
        for (size_t i = 0; i < s->n_steps; i++)
                step_record_done(&s->steps[i]);
        free(s->steps);
        s->steps = n;
        s->n_steps = p->n_steps;
        step_record_set(&s->plan_path, p->path);
        step_record_set(&s->plan_sha256, p->sha256);
        step_record_set(&s->plan_name, p->name);
        strv_free(s->vars);
        s->vars = secret_vars_masked(p) /* a secret one as NAME=<redacted> */;
}

/* ---- JSON ---- */

static void add_str(json_object *o, const char *k, const char *v) {
        json_object_object_add(o, k, json_str(v));
}

/* A step's detail or error: its last STATE_TEXT_MAX bytes (command output tails end there). */
static void add_text(json_object *o, const char *k, const char *v) {
        _cleanup_free_ char *cut = v ? utf8_cut(v, STATE_TEXT_MAX) : NULL;
        add_str(o, k, cut);
}

static void add_time(json_object *o, const char *k, uint64_t usec) {
        if (!usec) {
                json_object_object_add(o, k, NULL);
                return;
        }
        _cleanup_free_ char *t = format_timestamp(usec);
        json_object_object_add(o, k, json_object_new_string(t));
}

static json_object *state_to_object(const State *s) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "format", json_object_new_int(1));
        add_str(o, "run_id", s->run_id);
        add_str(o, "run_state", run_state_to_string(s->run_state));
        add_str(o, "plan", s->plan_path);
        add_str(o, "plan_sha256", s->plan_sha256);
        add_str(o, "plan_name", s->plan_name);
        if (s->vars) {
                json_object *v = json_object_new_array();
                for (size_t i = 0; s->vars[i]; i++)
                        json_object_array_add(v, json_str(s->vars[i]));
                json_object_object_add(o, "vars", v);
        }
        if (s->bundle)
                add_str(o, "bundle", s->bundle);
        if (s->image)
                add_str(o, "image", s->image);
        add_time(o, "created", s->created);
        add_time(o, "updated", s->updated);
        add_str(o, "boot_id", s->boot_id);
        json_object_object_add(o, "reboots", json_object_new_int((int) s->reboots));
        json_object_object_add(o, "changed_since_reboot", json_object_new_boolean(s->changed));
        json_object_object_add(o, "unit_enabled", json_object_new_boolean(s->unit_enabled));
        add_text(o, "error", s->error);
        json_object *steps = json_object_new_array();
        for (size_t i = 0; i < s->n_steps; i++) {
                const StepRecord *r = &s->steps[i];
                json_object *j = json_object_new_object();
                add_str(j, "id", r->id);
                add_str(j, "kind", r->kind);
                add_str(j, "digest", r->digest);
                add_str(j, "state", step_state_to_string(r->state));
                json_object_object_add(j, "applying", json_object_new_boolean(r->applying));
                json_object_object_add(j, "attempts", json_object_new_int((int) r->attempts));
                add_time(j, "started", r->started);
                add_time(j, "finished", r->finished);
                add_text(j, "detail", r->detail);
                add_text(j, "error", r->error);
                add_str(j, "reboot_boot_id", r->reboot_boot_id);
                json_object_object_add(j, "reboots", json_object_new_int((int) r->reboots));
                json_object_array_add(steps, j);
        }
        json_object_object_add(o, "steps", steps);
        return o;
}

char *state_to_json(const State *s, bool pretty) {
        json_object *o = state_to_object(s);
        char *t = json_text(o, pretty);
        json_object_put(o);
        return t;
}

int state_save(const char *path, State *s) {
        s->updated = now_usec();
        _cleanup_free_ char *text = state_to_json(s, true);
        _cleanup_free_ char *withnl = xasprintf("%s\n", text);
        if (strlen(withnl) > STATE_MAX_SIZE) /* never a file state_load() would refuse */
                return -EFBIG;
        int r = mkdir_parents_mode(path, 0755, 0700); /* only the state directory is private */
        if (r < 0)
                return r;
        return write_file_atomic(path, withnl, strlen(withnl), 0600);
}

/* Reading is strict: a state that does not read back exactly is reported, never guessed at. */

typedef struct Reader {
        char *why;
} Reader;

static json_object *get(Reader *rd, json_object *o, const char *key, json_type want, bool nullable, const char *where) {
        json_object *v = NULL;
        if (rd->why)
                return NULL;
        if (!json_object_object_get_ex(o, key, &v)) {
                rd->why = xasprintf("%s has no \"%s\"", where, key);
                return NULL;
        }
        if (!v) {
                if (!nullable)
                        rd->why = xasprintf("%s \"%s\" must not be null", where, key);
                return NULL;
        }
        if (json_object_get_type(v) != want) {
                rd->why = xasprintf("%s \"%s\" has the wrong type (%s, expected %s)", where, key,
                                    json_type_to_name(json_object_get_type(v)), json_type_to_name(want));
                return NULL;
        }
        return v;
}

static char *get_str(Reader *rd, json_object *o, const char *key, bool nullable, const char *where) {
        json_object *v = get(rd, o, key, json_type_string, nullable, where);
        return v ? xstrdup(json_object_get_string(v)) : NULL;
}

static unsigned get_uint(Reader *rd, json_object *o, const char *key, const char *where) {
        json_object *v = get(rd, o, key, json_type_int, false, where);
        if (!v)
                return 0;
        int64_t n = json_object_get_int64(v);
        if (n < 0 || n > 1000000) {
                if (!rd->why)
                        rd->why = xasprintf("%s \"%s\" is out of range (%lld)", where, key, (long long) n);
                return 0;
        }
        return (unsigned) n;
}

static bool get_bool(Reader *rd, json_object *o, const char *key, const char *where) {
        json_object *v = get(rd, o, key, json_type_boolean, false, where);
        return v ? json_object_get_boolean(v) : false;
}

static uint64_t get_time(Reader *rd, json_object *o, const char *key, const char *where) {
        _cleanup_free_ char *s = get_str(rd, o, key, true, where);
        struct tm tm = {0};
        if (!s)
                return 0;
        const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
        if (!end || *end) {
                if (!rd->why)
                        rd->why = xasprintf("%s \"%s\" is not a timestamp: %s", where, key, s);
                return 0;
        }
        time_t t = timegm(&tm);
        return t > 0 ? (uint64_t) t * 1000000ULL : 0;
}

/* The fields of the state and of its step records, read in table order: the first problem found
 * is the one reported. */
typedef enum FieldType {
        FIELD_STRING,
        FIELD_STRING_OR_NULL,
        FIELD_UINT,
        FIELD_BOOL,
        FIELD_TIME,
        FIELD_CUSTOM,
} FieldType;

typedef struct Field {
        const char *key;
        FieldType type;
        size_t offset;
        void (*custom)(Reader *rd, json_object *o, void *record, const char *where);
} Field;

static void read_fields(Reader *rd, json_object *o, void *record, const Field *fields, size_t n, const char *where) {
        for (size_t i = 0; i < n; i++) {
                const Field *f = &fields[i];
                void *at = (char *) record + f->offset;
                switch (f->type) {
                case FIELD_STRING:
                case FIELD_STRING_OR_NULL:
                        *(char **) at = get_str(rd, o, f->key, f->type == FIELD_STRING_OR_NULL, where);
                        break;
                case FIELD_UINT:
                        *(unsigned *) at = get_uint(rd, o, f->key, where);
                        break;
                case FIELD_BOOL:
                        *(bool *) at = get_bool(rd, o, f->key, where);
                        break;
                case FIELD_TIME:
                        *(uint64_t *) at = get_time(rd, o, f->key, where);
                        break;
                case FIELD_CUSTOM:
                        f->custom(rd, o, record, where);
                        break;
                }
        }
}

static void read_format(Reader *rd, json_object *o, void *record _unused_, const char *where) {
        if (get_uint(rd, o, "format", where) != 1 && !rd->why)
                rd->why = xstrdup("unknown state format (this gpubase reads format 1)");
}

static void read_run_state(Reader *rd, json_object *o, void *record, const char *where) {
        State *s = record;
        _cleanup_free_ char *rs = get_str(rd, o, "run_state", false, where);
        if (rs && (s->run_state = run_state_from_string(rs)) < 0 && !rd->why)
                rd->why = xasprintf("unknown run_state \"%s\"", rs);
}

static void read_vars(Reader *rd, json_object *o, void *record, const char *where _unused_) {
        State *s = record;
        json_object *vars = NULL;
        if (!json_object_object_get_ex(o, "vars", &vars) || !vars)
                return;
        if (!json_object_is_type(vars, json_type_array) && !rd->why)
                rd->why = xstrdup("the state \"vars\" must be a list of strings");
        for (size_t i = 0; !rd->why && i < json_object_array_length(vars); i++) {
                json_object *e = json_object_array_get_idx(vars, i);
                if (!json_object_is_type(e, json_type_string) || !strchr(json_object_get_string(e), '=')) {
                        rd->why = xstrdup("the state \"vars\" must be a list of NAME=VALUE strings");
                        break;
                }
                strv_push(&s->vars, xstrdup(json_object_get_string(e)));
        }
}

static void read_bundle(Reader *rd, json_object *o, void *record, const char *where) {
        State *s = record;
        if (json_object_object_get_ex(o, "bundle", NULL))
                s->bundle = get_str(rd, o, "bundle", true, where);
}

static void read_image(Reader *rd, json_object *o, void *record, const char *where) {
        State *s = record;
        if (!json_object_object_get_ex(o, "image", NULL))
                return;
        s->image = get_str(rd, o, "image", false, where);
        if (s->image && !streq(s->image, STATE_IMAGE_BUILD) && !streq(s->image, STATE_IMAGE_FIRST_BOOT) && !rd->why)
                rd->why = xasprintf("the state's \"image\" is \"%s\", not \"" STATE_IMAGE_BUILD "\" or \""
                                    STATE_IMAGE_FIRST_BOOT "\"", s->image);
}

bool state_first_boot_pending(const State *s) {
        return s->image && streq(s->image, STATE_IMAGE_FIRST_BOOT);
}

static void read_step_state(Reader *rd, json_object *o, void *record, const char *where) {
        StepRecord *r = record;
        _cleanup_free_ char *st = get_str(rd, o, "state", false, where);
        if (st && (r->state = step_state_from_string(st)) < 0 && !rd->why)
                rd->why = xasprintf("%s has unknown state \"%s\"", where, st);
}

static const Field step_fields[] = {
        {"id", FIELD_STRING, offsetof(StepRecord, id), NULL},
        {"kind", FIELD_STRING, offsetof(StepRecord, kind), NULL},
        {"digest", FIELD_STRING_OR_NULL, offsetof(StepRecord, digest), NULL},
        {"state", FIELD_CUSTOM, 0, read_step_state},
        {"applying", FIELD_BOOL, offsetof(StepRecord, applying), NULL},
        {"attempts", FIELD_UINT, offsetof(StepRecord, attempts), NULL},
        {"started", FIELD_TIME, offsetof(StepRecord, started), NULL},
        {"finished", FIELD_TIME, offsetof(StepRecord, finished), NULL},
        {"detail", FIELD_STRING_OR_NULL, offsetof(StepRecord, detail), NULL},
        {"error", FIELD_STRING_OR_NULL, offsetof(StepRecord, error), NULL},
        {"reboot_boot_id", FIELD_STRING_OR_NULL, offsetof(StepRecord, reboot_boot_id), NULL},
        {"reboots", FIELD_UINT, offsetof(StepRecord, reboots), NULL},
};

/* The step's kind is one this gpubase knows, and the step is in a state that kind can be in. */
static void check_kind_state(Reader *rd, const StepRecord *r, const char *where) {
        if (rd->why || !r->kind)
                return;
        const StepKind *k = step_kind_find(r->kind);
        if (!k)
                rd->why = xasprintf("%s has unknown kind \"%s\"", where, r->kind);
        else if (!step_state_valid_for_kind(k, r->state))
                rd->why = xasprintf("%s ('%s', a %s step) is \"%s\", which a %s step never is", where, r->id, r->kind,
                                    step_state_to_string(r->state), r->kind);
}

static void read_steps(Reader *rd, json_object *o, void *record, const char *where) {
        State *s = record;
        _cleanup_(strset_done) StrSet ids = {0};
        json_object *steps = get(rd, o, "steps", json_type_array, false, where);
        if (!steps)
                return;
        size_t n = json_object_array_length(steps);
        if (n > PLAN_MAX_STEPS) {
                rd->why = xasprintf("the state has %zu steps; a plan has at most %d", n, PLAN_MAX_STEPS);
                return;
        }
        s->steps = xcalloc(n, sizeof(StepRecord));
        for (size_t i = 0; i < n && !rd->why; i++) {
                json_object *j = json_object_array_get_idx(steps, i);
                StepRecord *r = &s->steps[i];
                _cleanup_free_ char *swhere = xasprintf("step %zu", i + 1);
                s->n_steps = i + 1;
                if (json_object_get_type(j) != json_type_object) {
                        rd->why = xasprintf("%s is not an object", swhere);
                        break;
                }
                read_fields(rd, j, r, step_fields, ELEMENTSOF(step_fields), swhere);
                if (!rd->why && r->id && !strset_add(&ids, r->id))
                        rd->why = xasprintf("%s repeats step id \"%s\"", swhere, r->id);
                check_kind_state(rd, r, swhere);
        }
}

static const Field state_fields[] = {
        {"format", FIELD_CUSTOM, 0, read_format},
        {"run_id", FIELD_STRING, offsetof(State, run_id), NULL},
        {"run_state", FIELD_CUSTOM, 0, read_run_state},
        {"plan", FIELD_STRING, offsetof(State, plan_path), NULL},
        {"plan_sha256", FIELD_STRING, offsetof(State, plan_sha256), NULL},
        {"plan_name", FIELD_STRING_OR_NULL, offsetof(State, plan_name), NULL},
        {"vars", FIELD_CUSTOM, 0, read_vars},
        {"bundle", FIELD_CUSTOM, 0, read_bundle},
        {"image", FIELD_CUSTOM, 0, read_image},
        {"created", FIELD_TIME, offsetof(State, created), NULL},
        {"updated", FIELD_TIME, offsetof(State, updated), NULL},
        {"boot_id", FIELD_STRING_OR_NULL, offsetof(State, boot_id), NULL},
        {"reboots", FIELD_UINT, offsetof(State, reboots), NULL},
        {"changed_since_reboot", FIELD_BOOL, offsetof(State, changed), NULL},
        {"unit_enabled", FIELD_BOOL, offsetof(State, unit_enabled), NULL},
        {"error", FIELD_STRING_OR_NULL, offsetof(State, error), NULL},
        {"steps", FIELD_CUSTOM, 0, read_steps},
};

/* One JSON object, and nothing after it but white space; -EBADMSG with *reterr. */
static int parse_json_object(const char *text, size_t len, json_object **ret, char **reterr) {
        json_object *o = NULL;
        int r = json_parse(text, len, &o, reterr);
        if (r < 0)
                return r;
        if (json_object_get_type(o) != json_type_object) {
                json_object_put(o);
                return errorf(reterr, -EBADMSG, "not a JSON object");
        }
        *ret = o;
        return 0;
}

int state_parse(const char *text, size_t len, State **ret, char **reterr) {
        _cleanup_(state_freep) State *s = xcalloc(1, sizeof(State));
        Reader rd = {0};
        json_object *o = NULL;
        int r;

        r = parse_json_object(text, len, &o, reterr);
        if (r < 0)
                return r;
        read_fields(&rd, o, s, state_fields, ELEMENTSOF(state_fields), "the state");
        json_object_put(o);
        if (rd.why) {
                _cleanup_free_ char *why = rd.why;
                return errorf(reterr, -EBADMSG, "%s", why);
        }
        *ret = TAKE_PTR(s);
        return 0;
}

int state_load(const char *path, State **ret, char **reterr) {
        _cleanup_free_ char *text = NULL, *why = NULL;
        size_t len;
        /* a state names the plan `resume` runs and the variables it gets: like its directory, only
         * root (or we) may be able to change it, or it is not read at all */
        int r = path_check_private(path, &why);
        if (r == -EPERM)
                return errorf(reterr, r, "%s", why);
        r = read_file(path, STATE_MAX_SIZE, &text, &len);
        if (r == -ENOENT)
                return r;
        if (r < 0)
                return errorf(reterr, r == -EFBIG ? -EBADMSG : r, "cannot read it: %s",
                              r == -EFBIG ? "larger than 16 MiB" : strerror(-r));
        return state_parse(text, len, ret, reterr);
}
