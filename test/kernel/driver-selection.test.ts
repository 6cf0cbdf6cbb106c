/**
 * The default selection on Debian 6.1's drivers, not only device-mapper: for each driver (its files given
 * together), the I/O, interrupt, NAPI, suspend and teardown entry points are selected, and the reason
 * names the hook that started them (an ops struct field or a registration call). Also: nothing of a
 * driver is skipped without a name, and no false "not defined" warning for the kernel's own helpers.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { instrumentForTest } from '../support/instrument-text.js';
import { needSource } from '../support/kernel-env.js';

/** Driver (a folder's .c files, or one file) -> function -> how its reason must start. */
const EXPECTED: Record<string, Record<string, string>> = {
  'drivers/block/null_blk': {
    null_queue_rq: 'struct blk_mq_ops null_mq_ops: .queue_rq = null_queue_rq',
    null_complete_rq: 'struct blk_mq_ops null_mq_ops: .complete = null_complete_rq',
    null_timeout_rq: 'struct blk_mq_ops null_mq_ops: .timeout = null_timeout_rq',
    null_submit_bio: 'struct block_device_operations null_bio_ops: .submit_bio = null_submit_bio',
    null_handle_cmd: 'struct blk_mq_ops null_mq_ops: .queue_rq = null_queue_rq -> null_handle_cmd',
  },
  'drivers/block/virtio_blk.c': {
    virtio_queue_rq: 'struct blk_mq_ops virtio_mq_ops: .queue_rq = virtio_queue_rq',
    virtblk_request_done: 'struct blk_mq_ops virtio_mq_ops: .complete = virtblk_request_done',
    virtblk_remove: 'struct virtio_driver virtio_blk: .remove = virtblk_remove',
    virtblk_done: 'struct virtio_driver virtio_blk: .restore = virtblk_restore -> init_vq -> callbacks[] = virtblk_done',
  },
  'drivers/block/loop.c': {
    loop_queue_rq: 'struct blk_mq_ops loop_mq_ops: .queue_rq = loop_queue_rq',
    lo_complete_rq: 'struct blk_mq_ops loop_mq_ops: .complete = lo_complete_rq',
    lo_release: 'struct block_device_operations lo_fops: .release = lo_release',
    loop_workfn: 'struct blk_mq_ops loop_mq_ops: .queue_rq = loop_queue_rq -> loop_queue_work -> queue_work(work) -> loop_workfn',
  },
  'drivers/block/brd.c': { brd_submit_bio: 'struct block_device_operations brd_fops: .submit_bio = brd_submit_bio' },
  'drivers/block/zram': {
    zram_submit_bio: 'struct block_device_operations zram_devops: .submit_bio = zram_submit_bio',
    zram_bvec_rw: 'struct block_device_operations zram_devops: .submit_bio = zram_submit_bio -> __zram_make_request -> zram_bvec_rw',
  },
  'drivers/net/ethernet/intel/e1000': {
    e1000_xmit_frame: 'struct net_device_ops e1000_netdev_ops: .ndo_start_xmit = e1000_xmit_frame',
    e1000_close: 'struct net_device_ops e1000_netdev_ops: .ndo_stop = e1000_close',
    e1000_clean: 'e1000_probe calls netif_napi_add(e1000_clean)',
    e1000_intr: 'struct net_device_ops e1000_netdev_ops: .ndo_open = e1000_open -> e1000_request_irq -> request_irq(e1000_intr)',
    e1000_remove: 'struct pci_driver e1000_driver: .remove = e1000_remove',
    e1000_suspend: 'struct dev_pm_ops e1000_pm_ops: .suspend = e1000_suspend',
    e1000_reset_task: 'struct net_device_ops e1000_netdev_ops: .ndo_tx_timeout = e1000_tx_timeout -> schedule_work(reset_task) -> e1000_reset_task',
  },
  'drivers/net/ethernet/intel/e1000e': {
    e1000_xmit_frame: 'struct net_device_ops e1000e_netdev_ops: .ndo_start_xmit = e1000_xmit_frame',
    e1000e_poll: 'e1000_probe calls netif_napi_add(e1000e_poll)',
    e1000_intr_msi: 'struct net_device_ops e1000e_netdev_ops: .ndo_open = e1000e_open -> e1000_request_irq -> request_irq(e1000_intr_msi)',
    e1000_remove: 'struct pci_driver e1000_driver: .remove = e1000_remove',
    e1000e_pm_suspend: 'struct dev_pm_ops e1000_pm_ops: .suspend = e1000e_pm_suspend',
  },
  'fs/ext2': {
    ext2_file_write_iter: 'struct file_operations ext2_file_operations: .write_iter = ext2_file_write_iter',
    ext2_sync_fs: 'struct super_operations ext2_sops: .sync_fs = ext2_sync_fs',
    ext2_put_super: 'struct super_operations ext2_sops: .put_super = ext2_put_super',
    ext2_writepages: 'struct address_space_operations ext2_aops: .writepages = ext2_writepages',
    ext2_evict_inode: 'struct super_operations ext2_sops: .evict_inode = ext2_evict_inode',
  },
  'drivers/char/mem.c': { read_mem: 'struct file_operations mem_fops: .read = read_mem', write_mem: 'struct file_operations mem_fops: .write = write_mem' },
  'drivers/char/random.c': { random_read_iter: 'struct file_operations random_fops: .read_iter = random_read_iter' },
  'drivers/char/lp.c': { lp_write: 'struct file_operations lp_fops: .write = lp_write' },
  'drivers/char/ppdev.c': { pp_ioctl: 'struct file_operations pp_fops: .unlocked_ioctl = pp_ioctl' },
};

const FOLDERS = ['drivers/block', 'fs/ext2', 'drivers/char', 'drivers/net/ethernet/intel/e1000', 'drivers/net/ethernet/intel/e1000e'];

function sources(src: string, spec: string): { path: string; text: string }[] {
  const full = join(src, spec);
  const paths = statSync(full).isDirectory() ? readdirSync(full).filter((n) => n.endsWith('.c')).map((n) => join(spec, n)) : [spec];
  return paths.map((path) => ({ path, text: readFileSync(join(src, path), 'latin1') }));
}

it('the default selection finds the entry points of block, network, file system and character drivers', async (t) => {
  const src = needSource(t, FOLDERS);
  if (!src) return;
  const wrong: string[] = [];
  for (const [driver, expected] of Object.entries(EXPECTED)) {
    const result = await instrumentForTest(sources(src, driver), { level: 'functions' });
    const hooks = new Set(result.selected.filter((s) => !s.reason.includes(' -> ')).map((s) => s.reason));
    t.diagnostic(`${driver}: ${result.selected.length} functions selected, ${result.skipped.length} skipped, ${result.crumbCount} breadcrumbs, from ${hooks.size} hooks`);
    for (const [name, reason] of Object.entries(expected)) {
      const selected = result.selected.find((s) => s.name === name);
      if (!selected) wrong.push(`${driver}: ${name} not selected`);
      else if (!selected.reason.startsWith(reason)) wrong.push(`${driver}: ${name} selected because ${selected.reason}\n    expected ${reason}`);
    }
    for (const warning of result.warnings) wrong.push(`${driver}: warning ${warning}`);
  }
  assert.deepEqual(wrong, []);
});
