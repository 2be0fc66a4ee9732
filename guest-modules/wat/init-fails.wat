;; init returns err("not configured").
(data (i32.const 96) "not configured")
(func $init (result i32)
  (i32.store8 (i32.const 1024) (i32.const 1))
  (i32.store (i32.const 1028) (i32.const 96))
  (i32.store (i32.const 1032) (i32.const 14))
  (i32.const 1024))
(func $on_timer (result i32) (call $ok))
