/// Several servers on one database: which node holds a part's spool, node heartbeats, and
/// leases on pending aborts.
///
/// - `parts.holder_node` is the node whose spool holds the part's bytes while it is received
///   and until it is committed; only that node can commit it. A claim by another node moves the
///   part there and starts it again from 0 (the bytes are on the old node's disk).
/// - `nodes` has one row per server, with the time of its last heartbeat; parts held by a node
///   whose heartbeat lapsed are reset, so any node can take them.
/// - `sessions.abort_lease_until` is the time until which one node has taken a pending abort,
///   so that each multipart upload is aborted by one node at a time.
enum V4NodesAndPartHolders {
  static let identifier = "v4-nodes-and-part-holders"

  static let sql = """
    ALTER TABLE parts ADD COLUMN holder_node TEXT;
    CREATE INDEX parts_by_holder ON parts(holder_node, state) WHERE holder_node IS NOT NULL;
    ALTER TABLE sessions ADD COLUMN abort_lease_until INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE nodes (
      id TEXT PRIMARY KEY NOT NULL,
      started_at INTEGER NOT NULL,
      heartbeat_at INTEGER NOT NULL
    );
    """
}
