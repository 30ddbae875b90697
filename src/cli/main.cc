#include <cstdio>
int main() { std::puts("tlsgate"); return 0; }
