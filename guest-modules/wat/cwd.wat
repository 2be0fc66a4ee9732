;; on-method answers the guest's initial working directory (wasi:cli/environment initial-cwd), or "none".
(import "wasi:cli/environment@0.2.0" "initial-cwd" (func $initial_cwd (param i32)))
(data (i32.const 96) "none")
(func $init (result i32) (call $ok))
(func $on_timer (result i32) (call $ok))
(func (export "edge:host/handler@0.1.0#on-method") (param i32 i32 i32 i32) (result i32)
  (call $initial_cwd (i32.const 3072))
  (i32.store8 (i32.const 1024) (i32.const 0))
  (if (i32.load8_u (i32.const 3072))
    (then
      (i32.store (i32.const 1028) (i32.load (i32.const 3076)))
      (i32.store (i32.const 1032) (i32.load (i32.const 3080))))
    (else
      (i32.store (i32.const 1028) (i32.const 96))
      (i32.store (i32.const 1032) (i32.const 4))))
  (i32.const 1024))
