;; Sends {"n":<k>} to "ticks" on each tick, k = 1, 2, 3...: a gap in what arrives is a lost message.
(global $n (mut i32) (i32.const 0))
(data (i32.const 200) "{\"n\":")
(func $init (result i32) (call $ok))
(func $on_timer (result i32) (local $v i32) (local $end i32) (local $p i32)
  (global.set $n (i32.add (global.get $n) (i32.const 1)))
  ;; digits of n written backwards from 239, then "}" at 240
  (local.set $v (global.get $n))
  (local.set $p (i32.const 240))
  (i32.store8 (i32.const 240) (i32.const 125))
  (loop $digits
    (local.set $p (i32.sub (local.get $p) (i32.const 1)))
    (i32.store8 (local.get $p) (i32.add (i32.const 48) (i32.rem_u (local.get $v) (i32.const 10))))
    (local.set $v (i32.div_u (local.get $v) (i32.const 10)))
    (br_if $digits (i32.ne (local.get $v) (i32.const 0))))
  ;; move the 5-byte prefix right before the digits
  (memory.copy (i32.sub (local.get $p) (i32.const 5)) (i32.const 200) (i32.const 5))
  (local.set $p (i32.sub (local.get $p) (i32.const 5)))
  (call $send (i32.const 16) (i32.const 5) (local.get $p) (i32.sub (i32.const 241) (local.get $p)) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 2048))
  (i32.const 2048))
