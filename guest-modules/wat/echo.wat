;; Healthy: on-timer sends {"ok":true} to "ticks"; on-message forwards to "echoed"; on-method echoes.
(func $init (result i32) (call $ok))
(func $on_timer (result i32) (call $tick))
