;; Grows memory one page at a time until growth fails, then aborts as an allocator would.
(func $init (result i32) (call $ok))
(func $on_timer (result i32)
  (loop $more (br_if $more (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
  unreachable)
