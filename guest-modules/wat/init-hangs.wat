;; Imports kv (so `wasmhost run` gives it a store) and never returns from init: a Ctrl-C while init runs must end the run cleanly.
(import "edge:host/kv@0.1.0" "delete" (func $kv_delete (param i32 i32 i32)))
(func $init (result i32) (loop $forever (br $forever)) (call $ok))
(func $on_timer (result i32) (call $ok))
