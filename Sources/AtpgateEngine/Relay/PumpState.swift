import AtpgateIO

extension Pump {
    /// Where a pump is. Each case carries what only it needs, so nothing outlives the phase it belongs
    /// to: leaving `.writing` frees the pump's buffer, leaving `.splicing` closes its pipe.
    enum State {
        /// Created; `start` not called yet.
        case idle
        /// Nothing waits for the sink: the source is read through the loop's scratch buffer whenever it
        /// is readable. Never entered with the message complete (that ends the pump), so a read always
        /// has room.
        case reading
        /// The sink took only part of a step's bytes. The rest wait here, in the only buffer a pump ever
        /// owns, and the source is not read until the sink has taken them (back-pressure); then `then`.
        case writing(ArraySlice<UInt8>, then: Next)
        /// Bytes go source → pipe → sink without passing through user space. `inPipe` of them wait for
        /// the sink; the source is read only while the pipe is empty, so the pipe is the back-pressure.
        case splicing(SplicePipe, inPipe: Int)
        /// Ended (reported) or stopped: holds nothing, and no handler of its streams runs it again.
        case finished
    }

    /// What follows once the bytes waiting in `.writing` are written.
    enum Next {
        /// Go on reading.
        case read
        /// The read that left them filled the scratch buffer: a bulk direction, switch to a pipe.
        case splice
        /// The message ended with them: report it, with the bytes read past its end.
        case complete(leftover: [UInt8])
    }

    /// What one step (a read, or the start) hands the sink, in order: written straight away while the
    /// sink takes it; from the first short write on, the rest is copied out of the scratch buffer (which
    /// the next read reuses) and kept. Lives for one step, then becomes `.writing` or is gone.
    struct Delivery {
        private(set) var kept: [UInt8] = []
        private(set) var failure: SocketError?

        mutating func send(_ bytes: UnsafeRawBufferPointer, to sink: any ByteStream) {
            guard failure == nil, !bytes.isEmpty else { return }
            var offset = 0
            // Once something waits, later bytes must queue behind it, not overtake it.
            if kept.isEmpty {
                do {
                    offset = try Pump.writeSome(bytes, to: sink)
                } catch {
                    failure = error
                    return
                }
            }
            if offset < bytes.count {
                kept.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset...]))
            }
        }
    }

    /// Writes until the sink would block: how many bytes it took.
    static func writeSome(_ bytes: UnsafeRawBufferPointer, to sink: any ByteStream) throws(SocketError) -> Int {
        var offset = 0
        while offset < bytes.count {
            guard let n = try sink.write(UnsafeRawBufferPointer(rebasing: bytes[offset...])) else { break }
            offset += n
        }
        return offset
    }
}
