// Exits with the status given as its first argument (proc_exit): every code must arrive, not only 0/1.
#include <stdlib.h>
int main(int argc, char **argv) { exit(argc > 1 ? atoi(argv[1]) : 33); }
