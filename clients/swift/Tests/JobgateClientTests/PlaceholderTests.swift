import Testing
@testable import JobgateClient
