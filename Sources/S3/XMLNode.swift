import Foundation

#if canImport(FoundationXML)
  import FoundationXML
#endif

/// A minimal XML element tree, enough for S3's small response documents.
package struct XMLNode: Sendable {
  package var name: String
  package var text: String
  package var children: [XMLNode]

  /// The first child named `name`.
  package func child(_ name: String) -> XMLNode? { children.first { $0.name == name } }

  /// Every child named `name`.
  package func children(_ name: String) -> [XMLNode] { children.filter { $0.name == name } }

  /// The text of the first child named `name`.
  package func text(_ name: String) -> String? { child(name)?.text }

  /// Parses a document; nil when it is not well-formed XML.
  package static func parse(_ data: Data) -> XMLNode? {
    // FoundationXML traps on an element name that is not UTF-8 (found by FuzzS3XML on
    // "<\xff\xff\xff\x06\nJ"), which a broken or hostile endpoint could send. S3 documents are
    // UTF-8, so anything else is malformed.
    guard String(validating: data, as: UTF8.self) != nil else { return nil }
    let builder = TreeBuilder()
    let parser = XMLParser(data: data)
    parser.delegate = builder
    guard parser.parse(), let root = builder.root else { return nil }
    return root
  }

  private final class TreeBuilder: NSObject, XMLParserDelegate {
    var stack: [XMLNode] = []
    var root: XMLNode?

    func parser(
      _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
      qualifiedName: String?, attributes: [String: String] = [:]
    ) {
      stack.append(XMLNode(name: elementName, text: "", children: []))
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
      guard !stack.isEmpty else { return }
      stack[stack.count - 1].text += string
    }

    func parser(
      _ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?,
      qualifiedName: String?
    ) {
      guard var node = stack.popLast() else { return }
      node.text = node.text.trimmingCharacters(in: .whitespacesAndNewlines)
      if stack.isEmpty {
        root = node
      } else {
        stack[stack.count - 1].children.append(node)
      }
    }
  }
}
