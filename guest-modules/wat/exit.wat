;; Calls wasi:cli/exit(err) on the first tick: must end this workload only, never the host.
(import "wasi:cli/exit@0.2.0" "exit" (func $exit (param i32)))
(func $init (result i32) (call $ok))
(func $on_timer (result i32) (call $exit (i32.const 1)) (call $ok))
