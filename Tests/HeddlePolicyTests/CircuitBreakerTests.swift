import HeddlePolicy
import Testing

@Suite("CircuitBreaker")
struct CircuitBreakerTests {
    @Test("Each limit admits exactly its count, refuses the next, and admits one again per release",
          arguments: CircuitBreaker.Resource.allCases)
    func limitAndRelease(resource: CircuitBreaker.Resource) {
        var breaker = CircuitBreaker(limits: .init(connections: 3, pendingRequests: 3, requests: 3, retries: 3))
        for held in 0..<3 {
            #expect(!breaker.isOpen(resource))
            #expect(breaker.tryAcquire(resource) == true)
            #expect(breaker.count(resource) == held + 1)
        }
        #expect(breaker.isOpen(resource))
        #expect(breaker.tryAcquire(resource) == false)
        #expect(breaker.tryAcquire(resource) == false)
        #expect(breaker.count(resource) == 3)
        breaker.release(resource)
        #expect(!breaker.isOpen(resource))
        #expect(breaker.tryAcquire(resource) == true)
        #expect(breaker.tryAcquire(resource) == false)
    }

    @Test("Resources are counted apart: a full one does not block the others")
    func independent() {
        var breaker = CircuitBreaker(limits: .init(connections: 1, pendingRequests: 2, requests: 3, retries: 4))
        for _ in 0..<4 {
            _ = breaker.tryAcquire(.retries)
        }
        #expect(breaker.isOpen(.retries))
        #expect(breaker.tryAcquire(.connections) == true)
        #expect(breaker.tryAcquire(.pendingRequests) == true)
        #expect(breaker.tryAcquire(.requests) == true)
        #expect(CircuitBreaker.Resource.allCases.map { breaker.count($0) } == [1, 1, 1, 4])
        breaker.release(.retries)
        #expect(CircuitBreaker.Resource.allCases.map { breaker.count($0) } == [1, 1, 1, 3])
    }

    @Test("The defaults allow 1024 of each")
    func defaults() {
        var breaker = CircuitBreaker()
        for resource in CircuitBreaker.Resource.allCases {
            #expect(breaker.limits[resource] == 1024)
            for _ in 0..<1024 {
                #expect(breaker.tryAcquire(resource) == true)
            }
            #expect(breaker.tryAcquire(resource) == false)
        }
    }

    @Test("A limit of 0 refuses everything")
    func zeroLimit() {
        var breaker = CircuitBreaker(limits: .init(retries: 0))
        #expect(breaker.isOpen(.retries))
        #expect(breaker.tryAcquire(.retries) == false)
        #expect(breaker.count(.retries) == 0)
        #expect(breaker.tryAcquire(.requests) == true)
    }

    @Test("Lowering a limit keeps what is held and refuses until the count drops below it")
    func lowerLimit() {
        var breaker = CircuitBreaker(limits: .init(requests: 10))
        for _ in 0..<8 {
            _ = breaker.tryAcquire(.requests)
        }
        breaker.limits.requests = 5
        #expect(breaker.count(.requests) == 8)
        #expect(breaker.tryAcquire(.requests) == false)
        for _ in 0..<3 {
            breaker.release(.requests)
        }
        #expect(breaker.tryAcquire(.requests) == false)
        breaker.release(.requests)
        #expect(breaker.tryAcquire(.requests) == true)
        #expect(breaker.tryAcquire(.requests) == false)
    }

    @Test("A release without an acquire does not go below zero or raise the limit")
    func unbalancedRelease() {
        var breaker = CircuitBreaker(limits: .init(connections: 2))
        breaker.release(.connections)
        breaker.release(.connections)
        #expect(breaker.count(.connections) == 0)
        #expect(breaker.tryAcquire(.connections) == true)
        #expect(breaker.tryAcquire(.connections) == true)
        #expect(breaker.tryAcquire(.connections) == false)
    }
}
