;; A hostile data flow operator (exports wasm-graph:processor/map): what its `process` does is chosen by
;; the first letter of its first init property's value: t = trap, l = loop forever, g = grow memory
;; without end, anything else = err("refused"). init returns true unless that value starts with "f".
(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 65536))
  (global $mode (mut i32) (i32.const 0))
  (data (i32.const 16) "refused")
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $p i32)
    (local.set $p (i32.and (i32.add (global.get $heap) (i32.const 7)) (i32.const -8)))
    (global.set $heap (i32.add (local.get $p) (local.get 3)))
    (block $fits
      (br_if $fits (i32.le_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536))))
      (br_if $fits (i32.ne (memory.grow (i32.add (i32.div_u (i32.sub (global.get $heap) (i32.mul (memory.size) (i32.const 65536))) (i32.const 65536)) (i32.const 1))) (i32.const -1)))
      unreachable)
    (local.get $p))
  ;; init(properties ptr, len, schemas ptr, len): a property is (key ptr, key len, value ptr, value len)
  (func (export "wasm-graph:processor/map@1.1.0#init") (param i32 i32 i32 i32) (result i32)
    (if (i32.gt_u (local.get 1) (i32.const 0))
      (then (global.set $mode (i32.load8_u (i32.load (i32.add (local.get 0) (i32.const 8)))))))
    (i32.ne (global.get $mode) (i32.const 102)))
  ;; process(message) -> result<data-model, error>: the result area is at 1024
  (func (export "wasm-graph:processor/map@1.1.0#process") (param i32) (result i32)
    (if (i32.eq (global.get $mode) (i32.const 116)) (then unreachable))
    (if (i32.eq (global.get $mode) (i32.const 108)) (then (loop $forever (br $forever))))
    (if (i32.eq (global.get $mode) (i32.const 103))
      (then (loop $more (br_if $more (i32.ne (memory.grow (i32.const 1)) (i32.const -1)))) unreachable))
    ;; err({ message: "refused" }): discriminant 1, then the string at offset 8 (data-model holds u64s: 8-aligned)
    (i32.store8 (i32.const 1024) (i32.const 1))
    (i32.store (i32.const 1032) (i32.const 16))
    (i32.store (i32.const 1036) (i32.const 7))
    (i32.const 1024))
)
