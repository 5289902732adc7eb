import Foundation
import GRPCCore
import NIOCore
import NIOFileSystem
import NIOFoundationCompat
import Synchronization
import UploadCore
import UploadProtocol

/// The sending side of one attempt's part streams: what they share (the file, its digests, the
/// journal, the progress, the rate limit, the count of streams the tuner wants) and what each
/// stream does with it.
struct PartSender: Sendable {
  let journal: Journal
  /// Bytes per message.
  let chunkSize: Int
  /// Sent with every call.
  let metadata: Metadata
  let parts: [JournalPart]
  /// The server's session id.
  let session: String
  let upload: JournalUpload
  let file: ReadFileHandle
  let digester: FileDigester
  let limiter: RateLimiter?
  let progress: Progress
  /// Each stream's bound on bytes the server has not taken, copied per stream.
  let inFlight: InFlightBytes
  let streams: StreamCount

  /// Streams the parts that `queue` hands out, one after another on one stream (the `index`th of
  /// the attempt), each from its acknowledged offset to its end, recording acknowledgements in
  /// the journal. The stream keeps
  /// few bytes that the server has not taken (`inFlight`, bounded by the credit the server grants),
  /// so memory on either side does not grow to the server's flow-control window.
  func send(_ queue: PartQueue, over client: UploadEngine.Client, index: Int) async throws {
    let inFlight = Mutex(inFlight)
    let (acknowledgements, acknowledged) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    try await client.uploadParts(metadata: metadata, requestProducer: { writer in
      var acknowledgement = acknowledgements.makeAsyncIterator()
      // A stream past the count the tuner settled on stops after its part.
      while index < streams.target, let (part, from) = queue.next() {
        // Declared with the part's first chunk, so the server can forward the part to S3 as it arrives.
        let digest = try await digester.digest(ofPart: part.number)
        let start = Int64(part.number - 1) * upload.partSize
        inFlight.withLock { $0.begin(part: part.number, at: from) }
        var offset = from
        while offset < part.size {
          let length = Int(min(Int64(chunkSize), part.size - offset))
          while inFlight.withLock({ $0.count + Int64(length) > $0.limit(streams: streams.running, budget: streams.budget) }) {
            // The response side finishes the stream when the call ends.
            guard await acknowledgement.next() != nil else { throw CancellationError() }
          }
          try await limiter?.acquire(length)
          let buffer = try await file.readChunk(fromAbsoluteOffset: start + offset, length: .bytes(Int64(length)))
          guard buffer.readableBytes == length else {
            throw ClientError("\(upload.filePath) is shorter than when the upload started")
          }
          let message = Uploader_V1_PartChunk.with {
            $0.sessionID = session
            $0.partNumber = UInt32(part.number)
            $0.offset = UInt64(offset)
            // The buffer was just read and is not shared: hand its storage over instead of copying.
            $0.data = buffer.getData(at: buffer.readerIndex, length: length, byteTransferStrategy: .noCopy) ?? Data()
            $0.last = offset + Int64(length) == part.size
            if offset == from { $0.partSha256 = Data(digest.bytes) }
          }
          inFlight.withLock { $0.sent(Int64(length)) }
          try await writer.write(message)
          offset += Int64(length)
        }
      }
    }, onResponse: { response in
      defer { acknowledged.finish() }
      for try await event in response.messages {
        inFlight.withLock { $0.granted(Int64(clamping: event.creditBytes)) }
        switch event.event {
        case .progress(let ack):
          inFlight.withLock { $0.reported(part: Int(ack.partNumber), bytes: Int64(ack.receivedBytes)) }
          acknowledged.yield()
          progress.set(part: Int(ack.partNumber), Int64(ack.receivedBytes))
          try await journal.acknowledged(upload.id, part: Int(ack.partNumber), bytes: Int64(ack.receivedBytes), committed: false)
        case .committed(let committed):
          let number = Int(committed.partNumber)
          guard parts.indices.contains(number - 1) else { continue }
          inFlight.withLock { $0.reported(part: number, bytes: parts[number - 1].size) }
          acknowledged.yield()
          try await journal.acknowledged(upload.id, part: number, bytes: parts[number - 1].size, committed: true)
        case .spooled(let spooled):
          inFlight.withLock { $0.reported(part: Int(spooled.partNumber), bytes: Int64(spooled.spooledBytes)) }
          acknowledged.yield()
        case nil:
          break
        }
      }
    })
  }
}
