;; Never returns from on-timer: only callTimeoutMs can end it.
(func $init (result i32) (call $ok))
(func $on_timer (result i32) (loop $forever (br $forever)) (i32.const 0))
