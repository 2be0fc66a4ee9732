// A command workload in C (WASI preview1): runs to its end; each line it prints to stdout is a
// telemetry message on output "{{name}}" (JSON lines arrive as application/json).
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  int count = argc > 1 ? atoi(argv[1]) : 3;
  const char *site = getenv("SITE");
  for (int i = 1; i <= count; i++) printf("{\"site\":\"%s\",\"reading\":%d}\n", site ? site : "unknown", i);
  fprintf(stderr, "{{name}}: printed %d readings\n", count);
  return 0;
}
