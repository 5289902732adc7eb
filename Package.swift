// swift-tools-version:6.1
import PackageDescription

let package = Package(
  name: "uploader",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "uploader-server", targets: ["uploader-server"]),
    .executable(name: "uploader", targets: ["uploader"]),
    // The client as a library: Uploader (upload, resume, status, abort; progress as an AsyncSequence).
    .library(name: "UploaderClient", targets: ["UploaderClient"]),
  ],
  dependencies: [
    .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
    .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
    .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
    .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
    .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
    .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
    .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
    .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
    .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
  ],
  targets: [
    // Generated protobuf and gRPC code, committed; regenerate with scripts/generate-protos.sh.
    .target(
      name: "UploadProtocol",
      dependencies: [
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      exclude: ["Protos.sha256"]
    ),
    // Domain types and rules. No gRPC, HTTP, NIO or SQLite.
    .target(
      name: "UploadCore",
      dependencies: [
        .product(name: "Crypto", package: "swift-crypto"),
      ]
    ),
    // SigV4 signer and the small S3 multipart client.
    .target(
      name: "S3",
      dependencies: [
        "UploadCore",
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "_NIOFileSystem", package: "swift-nio"),
        .product(name: "Logging", package: "swift-log"),
      ]
    ),
    // SQLite schema migrations, one per file, never edited once shipped.
    .target(
      name: "Migrations",
      dependencies: [.product(name: "GRDB", package: "GRDB.swift")],
      path: "Migrations"
    ),
    // gRPC services, staging pipeline, object stores, session store, configuration.
    .target(
      name: "UploadServer",
      dependencies: [
        "UploadCore",
        "Migrations",
        "CFileCopy",
        .product(name: "GRDB", package: "GRDB.swift"),
        .product(name: "PostgresNIO", package: "postgres-nio"),
        .product(name: "_ConnectionPoolModule", package: "postgres-nio"),
        "UploadProtocol",
        "S3",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
        .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "_NIOFileSystem", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "CoreMetrics", package: "swift-metrics"),
        .product(name: "Prometheus", package: "swift-prometheus"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "UnixSignals", package: "swift-service-lifecycle"),
      ]
    ),
    // The client engine: journal, file reading, parallel part streams, reconnecting, progress.
    .target(
      name: "UploaderClient",
      dependencies: [
        "UploadCore",
        "UploadProtocol",
        "Migrations",
        "CSocketInfo",
        .product(name: "GRDB", package: "GRDB.swift"),
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOFoundationCompat", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "_NIOFileSystem", package: "swift-nio"),
      ]
    ),
    .executableTarget(
      name: "uploader",
      dependencies: [
        "CClientMemoryTuning",
        "CMemoryTuning",
        "UploaderClient",
        "UploadCore",
        "UploadProtocol",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),
    // The README's library example, built and run by Tests/EndToEnd/test_library.py.
    .executableTarget(name: "uploader-example", dependencies: ["UploaderClient"]),
    // copy_file_range(2) and the xattr calls, which Swift's Glibc module does not declare.
    .target(name: "CFileCopy"),
    // The kernel's struct tcp_info (glibc's stops short of tcpi_bytes_acked), for the client's goodput.
    .target(name: "CSocketInfo"),
    // glibc malloc tuning for both executables.
    .target(name: "CMemoryTuning"),
    .target(name: "CClientMemoryTuning", dependencies: ["CMemoryTuning"]),
    .executableTarget(
      name: "uploader-server",
      dependencies: [
        "CMemoryTuning",
        "UploadServer",
        "UploadCore",
        "S3",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      ]
    ),
    // libFuzzer targets, built by scripts/fuzz.sh with -sanitize=fuzzer,address; a plain build
    // makes executables that do nothing, which keeps them compiling.
    .target(name: "FuzzSupport", path: "Sources/Fuzz/FuzzSupport"),
    .executableTarget(
      name: "FuzzObjectKey", dependencies: ["FuzzSupport", "UploadCore"], path: "Sources/Fuzz/FuzzObjectKey"),
    .executableTarget(
      name: "FuzzS3XML", dependencies: ["FuzzSupport", "S3", .product(name: "NIOCore", package: "swift-nio")],
      path: "Sources/Fuzz/FuzzS3XML"),
    .executableTarget(
      name: "FuzzPartLedger", dependencies: ["FuzzSupport", "UploadCore"], path: "Sources/Fuzz/FuzzPartLedger"),
    // Helpers shared by the test targets (test S3 server, deterministic bytes).
    .target(
      name: "TestSupport",
      dependencies: [
        "S3",
        "UploadCore",
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
      ],
      path: "Tests/TestSupport"
    ),
    .testTarget(
      name: "UploadProtocolTests",
      dependencies: [
        "UploadProtocol",
        .product(name: "Crypto", package: "swift-crypto"),
      ]
    ),
    .testTarget(
      name: "UploadCoreTests",
      dependencies: ["UploadCore"]
    ),
    .testTarget(
      name: "UploaderClientTests",
      dependencies: [
        "UploaderClient", "UploadCore", .product(name: "GRDB", package: "GRDB.swift"),
        .product(name: "GRPCCore", package: "grpc-swift-2"),
      ]
    ),
    .testTarget(
      name: "S3Tests",
      dependencies: [
        "S3",
        "TestSupport",
        "UploadCore",
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "NIOCore", package: "swift-nio"),
      ]
    ),
    .testTarget(
      name: "UploadServerTests",
      dependencies: [
        "UploadServer",
        "TestSupport",
        "Migrations",
        "UploadCore",
        "UploadProtocol",
        "S3",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "GRDB", package: "GRDB.swift"),
        .product(name: "PostgresNIO", package: "postgres-nio"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "_ConnectionPoolModule", package: "postgres-nio"),
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
      ]
    ),
  ],
  swiftLanguageModes: [.v6]
)
