#include "cli/command.h"

int main(int argc, char** argv) { return tlsgate::cli::run(argc, argv); }
