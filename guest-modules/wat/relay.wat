;; Relays every local-topic message it receives to topic "relayed", body, content type and properties
;; unchanged (the broker benchmark's workload: client -> workload -> client).
(import "edge:host/pubsub@0.1.0" "publish" (func $publish (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)))
(data (i32.const 128) "relayed")
(func $init (result i32) (call $ok))
(func $on_timer (result i32) (call $ok))
(func (export "edge:host/handler@0.1.0#on-message") (param i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)
  (call $publish (i32.const 128) (i32.const 7) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (i32.const 2048))
  (i32.const 2048))
