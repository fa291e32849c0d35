/* cli.h: the subcommands of the geodelta executable. */
#ifndef GEODELTA_CLI_H
#define GEODELTA_CLI_H

int gd_cmd_detect(int argc, char **argv);
int gd_cmd_verify(int argc, char **argv);
int gd_cmd_coreg(int argc, char **argv);
int gd_cmd_methods(int argc, char **argv);
int gd_cmd_keygen(int argc, char **argv);
int gd_cmd_batch(int argc, char **argv);
int gd_cmd_search(int argc, char **argv);
int gd_cmd_monitor(int argc, char **argv);

/* The option tables of the subcommands other than detect (pipeline/options/ has detect's),
 * for docs/cli.md. */
struct gd_opt_table;
const struct gd_opt_table *gd_cli_batch_table(void);
const struct gd_opt_table *gd_cli_coreg_table(void);
const struct gd_opt_table *gd_cli_verify_table(void);

/* Parses a whole decimal number in [lo, hi]; 0 on success. */
int gd_cli_parse_int(const char *s, long lo, long hi, long *out);
int gd_cli_parse_double(const char *s, double lo, double hi, double *out);
/* Prints "geodelta: message" and returns the exit code for status. */
int gd_cli_fail(int status, const char *message);
/* Prints the one line of a run stopped by SIGINT/SIGTERM; returns 130 or 143. */
int gd_cli_interrupted(void);

#endif
