;; Hostile: every tick tries to grow its table by 10 million entries (which would end a host whose
;; tables are not capped), then sends a tick saying whether the growth was refused (-1).
(table $t 1 funcref)
(data (i32.const 96) "{\"grown\":false}")
(data (i32.const 112) "{\"grown\":true} ")
(func $init (result i32) (call $ok))
(func $on_timer (result i32)
  (if (i32.eq (table.grow $t (ref.null func) (i32.const 10000000)) (i32.const -1))
    (then (call $send (i32.const 16) (i32.const 5) (i32.const 96) (i32.const 15) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 2048)))
    (else (call $send (i32.const 16) (i32.const 5) (i32.const 112) (i32.const 15) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 2048))))
  (i32.const 2048))
