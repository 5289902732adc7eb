#ifndef UPLOADER_SOCKET_INFO_H
#define UPLOADER_SOCKET_INFO_H

#include <stdint.h>

/// The start of the kernel's struct tcp_info (<linux/tcp.h>), up to tcpi_min_rtt. glibc's
/// <netinet/tcp.h>, which Swift's Glibc module exports, stops before it, and the kernel's header
/// cannot be imported beside glibc's (the same names, other definitions). The kernel only
/// appends to this struct, and getsockopt(TCP_INFO) copies what fits, so the prefix is stable.
typedef struct {
  uint8_t tcpi_state;
  uint8_t tcpi_ca_state;
  uint8_t tcpi_retransmits;
  uint8_t tcpi_probes;
  uint8_t tcpi_backoff;
  uint8_t tcpi_options;
  uint8_t tcpi_wscale;  // snd_wscale : 4, rcv_wscale : 4
  uint8_t tcpi_flags;  // delivery_rate_app_limited : 1, fastopen_client_fail : 2

  uint32_t tcpi_rto;
  uint32_t tcpi_ato;
  uint32_t tcpi_snd_mss;
  uint32_t tcpi_rcv_mss;

  uint32_t tcpi_unacked;
  uint32_t tcpi_sacked;
  uint32_t tcpi_lost;
  uint32_t tcpi_retrans;
  uint32_t tcpi_fackets;

  uint32_t tcpi_last_data_sent;
  uint32_t tcpi_last_ack_sent;
  uint32_t tcpi_last_data_recv;
  uint32_t tcpi_last_ack_recv;

  uint32_t tcpi_pmtu;
  uint32_t tcpi_rcv_ssthresh;
  uint32_t tcpi_rtt;
  uint32_t tcpi_rttvar;
  uint32_t tcpi_snd_ssthresh;
  uint32_t tcpi_snd_cwnd;
  uint32_t tcpi_advmss;
  uint32_t tcpi_reordering;

  uint32_t tcpi_rcv_rtt;
  uint32_t tcpi_rcv_space;

  uint32_t tcpi_total_retrans;

  uint64_t tcpi_pacing_rate;
  uint64_t tcpi_max_pacing_rate;
  uint64_t tcpi_bytes_acked;
  uint64_t tcpi_bytes_received;
  uint32_t tcpi_segs_out;
  uint32_t tcpi_segs_in;

  uint32_t tcpi_notsent_bytes;
  uint32_t tcpi_min_rtt;
} uploader_tcp_info;

/// The longest congestion-control name the kernel takes (TCP_CA_NAME_MAX), with its NUL.
typedef struct {
  char name[16];
} uploader_congestion_name;

#endif
