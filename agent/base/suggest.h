/* "Did you mean": the known name nearest to a mistyped one, by edit distance, for the errors about
 * unknown plan keys, step kinds, checks and subcommands. */
#pragma once

/* The name of names (NULL-terminated) closest to word, or NULL when none is close enough to be a
 * likely typo: at most 2 edits (1 for words of up to 4 characters), and fewer than the word's length.
 * Adjacent transpositions count as one edit. */
const char *closest_name(const char *word, const char *const *names);
/* " (did you mean 'NAME'?)" when closest_name() finds one, else "" (always a malloc'ed string). */
char *did_you_mean(const char *word, const char *const *names);
