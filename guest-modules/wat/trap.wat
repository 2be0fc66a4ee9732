;; Traps on the first timer tick.
(func $init (result i32) (call $ok))
(func $on_timer (result i32) unreachable)
