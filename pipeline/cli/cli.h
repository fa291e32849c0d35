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

/* Parses a whole decimal number in [lo, hi]; 0 on success. */
int gd_cli_parse_int(const char *s, long lo, long hi, long *out);
int gd_cli_parse_double(const char *s, double lo, double hi, double *out);
/* Prints "geodelta: message" and returns the exit code for status. */
int gd_cli_fail(int status, const char *message);

#endif
