import UploaderClient

// swift run uploader-example 127.0.0.1:50051 backup.tar backups/backup.tar
let (server, file, key) = (CommandLine.arguments[1], CommandLine.arguments[2], CommandLine.arguments[3])
let uploader = try Uploader(connection: ServerConnection(server: server), stateDirectory: ".uploader-example")
let upload = try await uploader.upload(
  file: file, key: key, options: UploadOptions(metadata: ["source": "example"], verify: true))
for await event in upload.events {
  if case .progress(let done, let total) = event { print("\(done) of \(total ?? 0) bytes acknowledged") }
}
let result = try await upload.result
print("stored \(result.location), sha256 \(result.sha256), verified: \(result.verified)")
