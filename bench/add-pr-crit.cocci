// The peer for bench/instrument.ts: one pr_crit() at the start of every function.
@@
identifier f;
@@
f(...) {
+ pr_crit("kcrumb bench\n");
...
}
