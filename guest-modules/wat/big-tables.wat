;; Hostile: declares two tables of 10 million entries each; instantiating it would end an unguarded host.
(table $a 10000000 funcref)
(table $b 10000000 funcref)
(func $init (result i32) (call $ok))
(func $on_timer (result i32) (call $tick))
