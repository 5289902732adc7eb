import CoreMetrics
import Prometheus
import UploadCore

/// The server's Prometheus metrics, all prefixed `uploader_`. Built on swift-metrics with an
/// injected factory, so every server (and every test) has its own registry.
public struct ServerMetrics: Sendable {
  /// Where the metrics are kept; `/metrics` renders it.
  public let registry: PrometheusCollectorRegistry
  private let factory: PrometheusMetricsFactory

  /// Bytes received from clients, both protocols.
  let bytesReceived: CoreMetrics.Counter
  /// Bytes of chunks that the part already held (a client sending again what it was not sure
  /// arrived); not in `bytesReceived`.
  let bytesReceivedAgain: CoreMetrics.Counter
  /// Bytes the object store accepted (parts and small objects).
  let bytesCommitted: CoreMetrics.Counter
  /// Parts the object store accepted.
  let partsCommitted: CoreMetrics.Counter
  /// Parts uploaded to the object store while they arrived (included in `partsCommitted`).
  let partsForwarded: CoreMetrics.Counter
  /// Streams ended because another stream (on this node or another) took their part over.
  let writersFenced: CoreMetrics.Counter
  /// Upload streams open now.
  let activeStreams: Meter
  /// Bytes staged in the spool now.
  let spoolBytes: Meter
  /// Completion notifications queued and not yet accepted by the receiver.
  let notificationsQueued: Meter
  /// Notifications the receiver accepted.
  let notificationsDelivered: CoreMetrics.Counter
  /// Delivery attempts that failed (the event stays queued and is tried again).
  let notificationDeliveriesFailed: CoreMetrics.Counter

  /// A fresh registry and its metrics.
  public init() {
    let registry = PrometheusCollectorRegistry()
    var factory = PrometheusMetricsFactory(registry: registry)
    factory.defaultDurationHistogramBuckets = [
      .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
      .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30),
    ]
    self.registry = registry
    self.factory = factory
    bytesReceived = CoreMetrics.Counter(label: "uploader_bytes_received_total", factory: factory)
    bytesReceivedAgain = CoreMetrics.Counter(label: "uploader_bytes_received_again_total", factory: factory)
    bytesCommitted = CoreMetrics.Counter(label: "uploader_bytes_committed_total", factory: factory)
    partsCommitted = CoreMetrics.Counter(label: "uploader_parts_committed_total", factory: factory)
    partsForwarded = CoreMetrics.Counter(label: "uploader_parts_forwarded_total", factory: factory)
    writersFenced = CoreMetrics.Counter(label: "uploader_writers_fenced_total", factory: factory)
    activeStreams = Meter(label: "uploader_active_streams", factory: factory)
    spoolBytes = Meter(label: "uploader_spool_bytes", factory: factory)
    notificationsQueued = Meter(label: "uploader_notifications_queued", factory: factory)
    notificationsDelivered = CoreMetrics.Counter(label: "uploader_notifications_delivered_total", factory: factory)
    notificationDeliveriesFailed = CoreMetrics.Counter(
      label: "uploader_notification_deliveries_failed_total", factory: factory)
  }

  /// Records the number of sessions in each state.
  func setSessions(_ counts: [SessionState: Int]) {
    for state in SessionState.allCases {
      Meter(label: "uploader_sessions", dimensions: [("state", state.rawValue)], factory: factory)
        .set(counts[state] ?? 0)
    }
  }

  /// The duration histogram of object-store `operation`.
  func storeRequestTimer(_ operation: String) -> CoreMetrics.Timer {
    CoreMetrics.Timer(
      label: "uploader_object_store_request_duration_seconds", dimensions: [("operation", operation)],
      preferredDisplayUnit: .seconds, factory: factory)
  }

  /// Counts a failed object-store call by operation and error code.
  func storeError(_ operation: String, code: UploadError.Code) {
    CoreMetrics.Counter(
      label: "uploader_object_store_errors_total", dimensions: [("operation", operation), ("code", code.rawValue)],
      factory: factory
    ).increment()
  }
}
