#if canImport(Glibc)
import Glibc
#endif
import HeddleHTTP1
import NIOCore

/// The fuzz target: the input is one direction of a connection. Request heads (with
/// their bodies framed) and response heads are parsed from it one message after another, and
/// every head the parser accepts is checked for consistency. A crash, a trap or a sanitizer
/// report is a bug.
func fuzzHTTP1(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    var buffer = ByteBufferAllocator().buffer(capacity: size)
    buffer.writeBytes(UnsafeBufferPointer(start: data, count: size))
    let limits = HTTP1Limits(maxHeadBytes: 4096, maxHeaderCount: 32, maxChunkExtensionBytes: 64, maxTrailerBytes: 512)
    for asRequest in [true, false] {
        var input = buffer
        var fields: [HTTP1Field] = []
        var parser = HTTP1HeadParser(limits: limits)
        messages: while input.readableBytes > 0 {
            let result = asRequest
                ? parser.parseRequest(input, fields: &fields)
                : parser.parseResponse(input, requestMethod: .get, fields: &fields)
            guard case .head(let head, let consumed) = result else { break }
            precondition(consumed > 0 && consumed <= input.readableBytes, "consumed out of range")
            let length = head.bytes.readableBytes
            for field in head.fields {
                precondition(field.name.upperBound <= length && field.value.upperBound <= length, "field outside the head")
            }
            input.moveReaderIndex(forwardBy: consumed)
            var framer = HTTP1BodyFramer(framing: head.bodyFraming, limits: limits)
            switch framer.advance(over: input) {
            case .inProgress(let count):
                precondition(count == input.readableBytes, "an unfinished body must take every byte")
                break messages
            case .finished(let count):
                precondition(count <= input.readableBytes, "a body ends within the input")
                input.moveReaderIndex(forwardBy: count)
            case .error:
                break messages
            }
        }
    }
    return 0
}

/// libFuzzer's driver, from the fuzzer runtime that `-sanitize=fuzzer` links.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(runFuzzerDriver(&argc, &argv, { data, size in fuzzHTTP1(data, size) }))
