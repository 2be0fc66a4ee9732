;; Throughput guest: sends 500 messages per timer tick (benchmarks; no budget errors expected).
(func $init (result i32) (call $ok))
(func $on_timer (result i32) (local $i i32)
  (loop $more
    (drop (call $tick))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br_if $more (i32.lt_u (local.get $i) (i32.const 500))))
  (call $ok))
