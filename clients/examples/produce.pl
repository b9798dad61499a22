#!/usr/bin/env perl
# Enqueue one job: one JSON line out, one JSON line back. Usage: perl produce.pl [QUEUE]
use strict;
use warnings;
use IO::Socket::INET;
use IO::Socket::UNIX;
use JSON::PP;

my $addr = $ENV{JOBGATE_ADDR} // "tcp://127.0.0.1:7700";
my $sock = $addr =~ /^unix:(.+)$/
    ? IO::Socket::UNIX->new(Peer => $1)
    : IO::Socket::INET->new(PeerAddr => ($addr =~ s{^tcp://}{}r));
unless ($sock) { print STDERR "cannot connect to $addr: $!\n"; exit 1 }

my $request = {
    op => "enqueue", queue => $ARGV[0] // "emails", func => "mail.send",
    args => ["ada\@example.com"], kwargs => { lang => "perl" },
};
print $sock encode_json($request), "\n";

my $line = <$sock>;                     # the reply is exactly one line
unless (defined $line) { print STDERR "no reply from $addr\n"; exit 1 }
my $reply = decode_json($line);
unless ($reply->{ok}) {
    print STDERR "$reply->{error}{code}: $reply->{error}{message}\n";
    exit 1;
}
print "$reply->{id}\n";
